"""C accelerators of the anonymisation engine (everything else is configured in pyproject.toml).

Both are optional at build time: without a C compiler (or OpenSSL's headers, for the HMAC one) the
engine runs its pure-Python reference code, which gives the same output, only slower.  The test
suite requires them (tests/cleaning/test_fastscan.py, test_fasthmac.py), so CI never tests only
the fallback.
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        # The free-text scanner over whole pyarrow string arrays (listings/cleaning/detectors.py is
        # its reference).
        Extension(
            "listings.cleaning._fastscan",
            ["listings/cleaning/_fastscan.c"],
            extra_compile_args=["-O2", "-std=c11"],
            optional=True,
        ),
        # Keyed pseudonyms (HMAC-SHA256) over whole arrays, with OpenSSL's SHA-256 (which uses the
        # CPU's SHA instructions where there are some).
        Extension(
            "listings.cleaning._fasthmac",
            ["listings/cleaning/_fasthmac.c"],
            libraries=["crypto"],
            extra_compile_args=["-O2", "-std=c11", "-Wno-deprecated-declarations"],
            optional=True,
        ),
    ]
)
