/* Keyed pseudonyms (HMAC-SHA256, first 8 bytes as hex) over a whole pyarrow string array.
 *
 * The reference is Pseudonymizer._token_array_python in transforms.py; output is byte-identical.
 * The speed comes from absorbing the two 64-byte key blocks (and the constant "kind\0" prefix)
 * once per call and copying those SHA-256 states per value, with OpenSSL's SHA-256 (SHA-NI where
 * the CPU has it), and from never creating a Python object per value.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <stdint.h>
#include <string.h>

#include <openssl/sha.h>

#define TOKEN_HEX 16 /* 8 bytes of the MAC */

static PyObject *get_view(PyObject *obj, Py_buffer *view, const char *what) {
    if (PyObject_GetBuffer(obj, view, PyBUF_SIMPLE) < 0) {
        PyErr_Format(PyExc_TypeError, "%s must support the buffer protocol", what);
        return NULL;
    }
    return obj;
}

static PyObject *tokens(PyObject *Py_UNUSED(self), PyObject *args) {
    const char *inner, *outer, *prefix, *kind_prefix;
    Py_ssize_t inner_len, outer_len, prefix_len, kind_prefix_len, offset, length;
    PyObject *offsets_obj, *data_obj;
    if (!PyArg_ParseTuple(args, "y#y#y#y#OOnn:tokens", &inner, &inner_len, &outer, &outer_len,
                          &prefix, &prefix_len, &kind_prefix, &kind_prefix_len, &offsets_obj,
                          &data_obj, &offset, &length))
        return NULL;
    if (inner_len != SHA256_CBLOCK || outer_len != SHA256_CBLOCK) {
        PyErr_SetString(PyExc_ValueError, "inner and outer must be 64-byte key blocks");
        return NULL;
    }
    if (offset < 0 || length < 0) {
        PyErr_SetString(PyExc_ValueError, "offset and length must be non-negative");
        return NULL;
    }
    /* Output offsets are int32 like the input's: refuse what would not fit rather than wrap. */
    Py_ssize_t item = kind_prefix_len + TOKEN_HEX;
    if (length >= INT32_MAX || length > (Py_ssize_t)INT32_MAX / item) {
        PyErr_SetString(PyExc_OverflowError, "too many values for an int32-offset string array");
        return NULL;
    }

    Py_buffer offs_view, data_view;
    int have_data = 0;
    if (!get_view(offsets_obj, &offs_view, "offsets"))
        return NULL;
    if (data_obj != Py_None) {
        if (!get_view(data_obj, &data_view, "data")) {
            PyBuffer_Release(&offs_view);
            return NULL;
        }
        have_data = 1;
    }
    /* "" rather than NULL so that data + 0 stays a valid pointer when every string is empty. */
    const unsigned char *data =
        have_data ? (const unsigned char *)data_view.buf : (const unsigned char *)"";
    Py_ssize_t data_len = have_data ? data_view.len : 0;

    PyObject *result = NULL, *out_offs = NULL, *out_data = NULL;
    /* offset + length + 1 elements of 4 bytes, computed so that neither step can overflow. */
    if (offset > PY_SSIZE_T_MAX / 4 - length - 1 ||
        offs_view.len / 4 < offset + length + 1) {
        PyErr_SetString(PyExc_ValueError, "offsets buffer too small for offset + length");
        goto done;
    }
    out_offs = PyBytes_FromStringAndSize(NULL, (length + 1) * 4);
    out_data = PyBytes_FromStringAndSize(NULL, length * item);
    if (!out_offs || !out_data)
        goto done;

    /* Read through memcpy: a pyarrow slice's buffer address need not be 4-byte aligned. */
    const unsigned char *in_offs = (const unsigned char *)offs_view.buf + offset * 4;
    int32_t *dst_offs = (int32_t *)PyBytes_AS_STRING(out_offs);
    char *dst = PyBytes_AS_STRING(out_data);
    static const char hex[] = "0123456789abcdef";
    int bad = 0;

    Py_BEGIN_ALLOW_THREADS
    SHA256_CTX inner_base, outer_base, ctx;
    unsigned char digest[SHA256_DIGEST_LENGTH];
    SHA256_Init(&inner_base);
    SHA256_Update(&inner_base, inner, SHA256_CBLOCK);
    /* The prefix is the same for every value, so it is absorbed (buffered) once too. */
    SHA256_Update(&inner_base, prefix, (size_t)prefix_len);
    SHA256_Init(&outer_base);
    SHA256_Update(&outer_base, outer, SHA256_CBLOCK);

    int32_t start, end;
    memcpy(&start, in_offs, 4);
    if (start < 0 || start > data_len)
        bad = 1;
    for (Py_ssize_t i = 0; i < length && !bad; i++) {
        memcpy(&end, in_offs + (i + 1) * 4, 4);
        if (end < start || end > data_len) {
            bad = 1;
            break;
        }
        ctx = inner_base;
        SHA256_Update(&ctx, data + start, (size_t)(end - start));
        SHA256_Final(digest, &ctx);
        ctx = outer_base;
        SHA256_Update(&ctx, digest, SHA256_DIGEST_LENGTH);
        SHA256_Final(digest, &ctx);

        char *p = dst + i * item;
        memcpy(p, kind_prefix, (size_t)kind_prefix_len);
        p += kind_prefix_len;
        for (int b = 0; b < TOKEN_HEX / 2; b++) {
            p[2 * b] = hex[digest[b] >> 4];
            p[2 * b + 1] = hex[digest[b] & 15];
        }
        dst_offs[i] = (int32_t)(i * item);
        start = end;
    }
    dst_offs[length] = (int32_t)(length * item);
    Py_END_ALLOW_THREADS

    if (bad) {
        PyErr_SetString(PyExc_ValueError, "offsets decrease or point outside the data buffer");
        goto done;
    }
    result = PyTuple_Pack(2, out_offs, out_data);

done:
    Py_XDECREF(out_offs);
    Py_XDECREF(out_data);
    PyBuffer_Release(&offs_view);
    if (have_data)
        PyBuffer_Release(&data_view);
    return result;
}

static PyMethodDef methods[] = {
    {"tokens", tokens, METH_VARARGS,
     "tokens(inner, outer, prefix, kind_prefix, offsets, data, offset, length)"
     " -> (offsets_bytes, data_bytes)\n\n"
     "HMAC-SHA256 pseudonyms (kind_prefix + 16 hex chars) of a pyarrow string array's values."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_fasthmac",
    "Keyed pseudonyms over whole string arrays (see transforms.Pseudonymizer).", -1, methods,
};

PyMODINIT_FUNC PyInit__fasthmac(void) { return PyModule_Create(&module); }
