/*
 * The free-text scanner of listings/cleaning/detectors.py, in C, over whole pyarrow string arrays.
 *
 * Why: in Python the scanner costs ~5 us per candidate (a regex match object, a call, a few
 * slices), and a 100 MB table holds ~470,000 digit runs and ~195,000 name candidates; that was
 * half of the engine's time.  Here a cell is decoded once into code points and every pattern is
 * tried in one left-to-right loop, without the GIL and without building a Python object per cell.
 *
 * detectors.py stays the definition: every function below is a literal port of the Python
 * function with the same name, including what the regular expressions do when they backtrack
 * (each pattern's comment says why its hand-written match is the same match).  The
 * tests/cleaning/test_fastscan.py property tests compare the two on generated text.
 *
 * Each of the seven Python passes is a separate re.finditer: matches of one pass never overlap,
 * but passes ignore each other.  The single loop keeps one "next allowed position" per pass, and
 * findings are ordered by (start, pass, order found), which is what Python's stable sort of the
 * passes' concatenated lists gives; the merge of overlaps then follows detectors._merge.
 *
 * The word lists (surnames, cue words, common words...) come from lexicon.py through configure(),
 * called once when detectors.py is imported, so they have a single source.
 */
#define PY_SSIZE_T_CLEAN
#define _GNU_SOURCE /* memmem */
#include <Python.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef uint32_t cp_t;

enum {
    K_ID, K_MOBILE, K_LANDLINE, K_CARD, K_EMAIL, K_IP, K_PASSPORT, K_PLATE, K_USCC, K_NAME,
    K_ADDRESS, K_COUNT
};

/* The passes, in the order detectors.scan() runs them. */
enum { P_ALNUM, P_EMAIL, P_IPV6, P_PAREN, P_PLATE, P_CUE, P_ADDR, P_COUNT };

/* ---- sets of code points: one byte per BMP code point, one bit per set ------------------------ */

enum {
    S_SURNAME = 1, S_NAME_STOP = 2, S_NOT_GIVEN = 4, S_PLATE_PROV = 8, S_CUE_FIRST = 16,
    S_ADDR_STOP = 32, S_SHIFT = 64, S_COMPOUND_FIRST = 128
};
static uint8_t cset[65536];

static inline int in_set(cp_t c, int bit) { return c < 65536 && (cset[c] & bit); }

/* ---- sets of short words (open addressing over code point strings) --------------------------- */

#define WMAX 8
typedef struct {
    uint8_t len;
    cp_t c[WMAX];
} word_t;
typedef struct {
    word_t *slot;
    size_t cap; /* a power of two */
} wset_t;

static wset_t w_common, w_compound, w_cues, w_cues_before, w_cues_after;

static uint64_t whash(const cp_t *s, Py_ssize_t n) {
    uint64_t h = 1469598103934665603ULL ^ (uint64_t)n;
    for (Py_ssize_t i = 0; i < n; i++) {
        h ^= s[i];
        h *= 1099511628211ULL;
    }
    return h ^ (h >> 29);
}

static int wset_has(const wset_t *w, const cp_t *s, Py_ssize_t n) {
    if (n <= 0 || n > WMAX || !w->cap) return 0;
    size_t i = whash(s, n) & (w->cap - 1);
    for (;;) {
        const word_t *e = &w->slot[i];
        if (!e->len) return 0;
        if (e->len == n && !memcmp(e->c, s, (size_t)n * sizeof(cp_t))) return 1;
        i = (i + 1) & (w->cap - 1);
    }
}

/* Fill a set from a Python sequence of str; words longer than WMAX are an error. */
static int wset_fill(wset_t *w, PyObject *seq) {
    PyObject *fast = PySequence_Fast(seq, "expected a sequence of str");
    if (!fast) return -1;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(fast);
    size_t cap = 16;
    while (cap < (size_t)n * 4) cap <<= 1;
    free(w->slot);
    w->slot = calloc(cap, sizeof(word_t));
    w->cap = cap;
    if (!w->slot) {
        Py_DECREF(fast);
        PyErr_NoMemory();
        return -1;
    }
    for (Py_ssize_t k = 0; k < n; k++) {
        PyObject *o = PySequence_Fast_GET_ITEM(fast, k);
        if (!PyUnicode_Check(o)) {
            Py_DECREF(fast);
            PyErr_SetString(PyExc_TypeError, "expected str");
            return -1;
        }
        Py_ssize_t len = PyUnicode_GET_LENGTH(o);
        if (len < 1 || len > WMAX) {
            Py_DECREF(fast);
            PyErr_SetString(PyExc_ValueError, "word length out of range");
            return -1;
        }
        cp_t buf[WMAX];
        for (Py_ssize_t i = 0; i < len; i++) buf[i] = PyUnicode_READ_CHAR(o, i);
        size_t i = whash(buf, len) & (cap - 1);
        while (w->slot[i].len && !(w->slot[i].len == len &&
                                   !memcmp(w->slot[i].c, buf, (size_t)len * sizeof(cp_t))))
            i = (i + 1) & (cap - 1);
        w->slot[i].len = (uint8_t)len;
        memcpy(w->slot[i].c, buf, (size_t)len * sizeof(cp_t));
    }
    Py_DECREF(fast);
    return 0;
}

static int cset_fill(PyObject *s, int bit) {
    if (!PyUnicode_Check(s)) {
        PyErr_SetString(PyExc_TypeError, "expected str");
        return -1;
    }
    for (Py_ssize_t i = 0; i < PyUnicode_GET_LENGTH(s); i++) {
        Py_UCS4 c = PyUnicode_READ_CHAR(s, i);
        if (c >= 65536) {
            PyErr_SetString(PyExc_ValueError, "character outside the BMP");
            return -1;
        }
        cset[c] |= (uint8_t)bit;
    }
    return 0;
}

static int province_code[100];
static char tag_utf8[K_COUNT][32];
static size_t tag_len[K_COUNT];
static int configured;

/* ---- character classes (those of the Python patterns) ---------------------------------------- */

static inline int is_adigit(cp_t c) { return c >= '0' && c <= '9'; }
static inline int is_fwdigit(cp_t c) { return c >= 0xFF10 && c <= 0xFF19; }
/* [0-9０-９]; also str.isdigit() and \d for every character these functions can see. */
static inline int is_D(cp_t c) { return is_adigit(c) || is_fwdigit(c); }
static inline int is_han(cp_t c) { return c >= 0x4E00 && c <= 0x9FFF; }
static inline int is_aupper(cp_t c) { return c >= 'A' && c <= 'Z'; }
static inline int is_aalpha(cp_t c) { return is_aupper(c) || (c >= 'a' && c <= 'z'); }
static inline int is_hex(cp_t c) {
    return is_adigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
/* detectors._ASCII_ALNUM: ASCII letters and digits, full-width digits. */
static inline int in_ascii_alnum(cp_t c) { return is_adigit(c) || is_aalpha(c) || is_fwdigit(c); }
/* detectors._ALNUM: also full-width letters. */
static inline int in_alnum(cp_t c) {
    return in_ascii_alnum(c) || (c >= 0xFF21 && c <= 0xFF3A) || (c >= 0xFF41 && c <= 0xFF5A);
}
static inline int is_cn_num(cp_t c) {
    switch (c) {
    case 0x4E00: case 0x4E8C: case 0x4E09: case 0x56DB: case 0x4E94: case 0x516D: case 0x4E03:
    case 0x516B: case 0x4E5D: case 0x5341: case 0x767E: case 0x96F6: case 0x3007:
        return 1; /* 一二三四五六七八九十百零〇 */
    }
    return 0;
}
/* A letter of a plate serial, [A-HJ-NP-Z]. */
static inline int is_plate_letter(cp_t c) { return is_aupper(c) && c != 'I' && c != 'O'; }

/* str.isspace() (and \s in a str pattern). */
static int py_isspace(cp_t c) {
    if (c <= 0x20) return c == 0x20 || (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x1F);
    switch (c) {
    case 0x85: case 0xA0: case 0x1680: case 0x2028: case 0x2029: case 0x202F: case 0x205F:
    case 0x3000:
        return 1;
    }
    return c >= 0x2000 && c <= 0x200A;
}

/* validators.normalise() per character: full-width to ASCII. */
static inline cp_t fold(cp_t c) {
    if (c >= 0xFF01 && c <= 0xFF5E) return c - 0xFEE0;
    if (c == 0x3000) return 0x20;
    return c;
}
static inline cp_t aupper(cp_t c) { return (c >= 'a' && c <= 'z') ? c - 32 : c; }

/* normalise(value) into out (fold, then strip): returns the length. */
static int normalise(const cp_t *s, int n, cp_t *out, int upper) {
    int a = 0, b = n;
    while (a < b && py_isspace(fold(s[a]))) a++;
    while (b > a && py_isspace(fold(s[b - 1]))) b--;
    int k = 0;
    for (int i = a; i < b; i++) out[k++] = upper ? aupper(fold(s[i])) : fold(s[i]);
    return k;
}

static int all_adigits(const cp_t *s, int n) {
    if (n <= 0) return 0;
    for (int i = 0; i < n; i++)
        if (!is_adigit(s[i])) return 0;
    return 1;
}
static int num(const cp_t *s, int n) {
    int v = 0;
    for (int i = 0; i < n; i++) v = v * 10 + (int)(s[i] - '0');
    return v;
}
static int starts(const cp_t *s, int n, const char *p) {
    int k = (int)strlen(p);
    if (n < k) return 0;
    for (int i = 0; i < k; i++)
        if (s[i] != (cp_t)(unsigned char)p[i]) return 0;
    return 1;
}

/* ---- validators.py ----------------------------------------------------------------------------- */

static int valid_date(int y, int m, int d) {
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (y < 1 || y > 9999 || m < 1 || m > 12 || d < 1) return 0;
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    int dm = mdays[m - 1] + (m == 2 && leap);
    if (d > dm) return 0;
    /* date(1900, 1, 1) <= d <= date(2100, 1, 1) */
    if (y < 1900) return 0;
    if (y > 2100 || (y == 2100 && (m > 1 || d > 1))) return 0;
    return 1;
}

/* is_id18_structure(d) on an ASCII string (all callers pass folded text). */
static int id18_structure(const cp_t *d, int n) {
    if (n != 18 || !all_adigits(d, 17)) return 0;
    for (int i = 0; i < n; i++)
        if (d[i] > 127) return 0;
    if (!province_code[num(d, 2)]) return 0;
    int y = num(d + 6, 4), m = num(d + 10, 2), day = num(d + 12, 2);
    if (!(1900 <= y && y <= 2100 && 1 <= m && m <= 12 && 1 <= day && day <= 31)) return 0;
    return day <= 28 || valid_date(y, m, day);
}

static int id18_ok(const cp_t *d, int n) {
    static const int w[] = {7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2};
    static const char check[] = "10X98765432";
    if (n != 18 || !(is_adigit(d[17]) || d[17] == 'X')) return 0;
    if (!id18_structure(d, n)) return 0;
    int t = 0;
    for (int i = 0; i < 17; i++) t += (int)(d[i] - '0') * w[i];
    return (cp_t)check[t % 11] == d[17];
}

/* is_resident_id15 on an already separator-free string. */
static int id15_ok(const cp_t *d, int n) {
    if (n != 15 || !all_adigits(d, n)) return 0;
    if (!province_code[num(d, 2)]) return 0;
    return valid_date(1900 + num(d + 6, 2), num(d + 8, 2), num(d + 10, 2));
}

/* is_mobile on a string with nothing left to normalise. */
static int mobile_ok(const cp_t *d, int n) {
    if (starts(d, n, "+86")) {
        d += 3;
        n -= 3;
    } else if (starts(d, n, "0086")) {
        d += 4;
        n -= 4;
    }
    return n == 11 && all_adigits(d, n) && d[0] == '1' && d[1] >= '3' && d[1] <= '9';
}

static int card_scheme_ok(const cp_t *d, int n) {
    int two = num(d, 2), four = num(d, 4);
    if (starts(d, n, "62")) return 16 <= n && n <= 19;
    if (d[0] == '4') return n == 13 || n == 16 || n == 19;
    if ((51 <= two && two <= 55) || (2221 <= four && four <= 2720)) return n == 16;
    if (two == 34 || two == 37) return n == 15;
    if (two == 35 || two == 60 || two == 65) return 16 <= n && n <= 19;
    if (starts(d, n, "9558") || starts(d, n, "95599")) return n == 19;
    return 0;
}

static int luhn_ok(const cp_t *d, int n) {
    static const int dbl[] = {0, 2, 4, 6, 8, 1, 3, 5, 7, 9};
    int t = 0;
    for (int i = n - 1, k = 0; i >= 0; i--, k++) t += (k & 1) ? dbl[d[i] - '0'] : (int)(d[i] - '0');
    return t % 10 == 0;
}

static int bank_card_ok(const cp_t *d, int n) {
    if (n < 13 || n > 19 || !all_adigits(d, n)) return 0;
    if (!card_scheme_ok(d, n) || !luhn_ok(d, n)) return 0;
    return !(n == 18 && id18_structure(d, n));
}

/* is_landline(raw): ^\(?0(?:10|2\d|[3-9]\d{2})\)?[-\s]?[2-9]\d{6,7}(?:-\d{1,5})?$ after
 * normalising and dropping a +86 / 0086 prefix.  Each optional part is decided by one character
 * that the next part cannot start with, so the first way through is the only one. */
static int landline_ok(const cp_t *raw, int rn) {
    cp_t v[128];
    if (rn > 120) return 0;
    int n = normalise(raw, rn, v, 0);
    cp_t *s = v;
    static const char *pfx[] = {"+86", "0086"};
    for (int p = 0; p < 2; p++) {
        if (starts(s, n, pfx[p])) {
            int k = (int)strlen(pfx[p]);
            s += k;
            n -= k;
            while (n > 0 && (s[0] == ' ' || s[0] == '-')) {
                s++;
                n--;
            }
        }
    }
    int i = 0;
    if (i < n && s[i] == '(') i++;
    if (!(i < n && s[i] == '0')) return 0;
    i++;
    if (i < n && s[i] == '1') {
        if (!(i + 1 < n && s[i + 1] == '0')) return 0;
        i += 2;
    } else if (i < n && s[i] == '2') {
        if (!(i + 1 < n && is_adigit(s[i + 1]))) return 0;
        i += 2;
    } else if (i < n && s[i] >= '3' && s[i] <= '9') {
        if (!(i + 2 < n && is_adigit(s[i + 1]) && is_adigit(s[i + 2]))) return 0;
        i += 3;
    } else
        return 0;
    if (i < n && s[i] == ')') i++;
    if (i < n && (s[i] == '-' || py_isspace(s[i]))) i++;
    if (!(i < n && s[i] >= '2' && s[i] <= '9')) return 0;
    i++;
    int k = 0;
    while (i + k < n && is_adigit(s[i + k])) k++;
    if (k < 6 || k > 7) return 0;
    i += k;
    if (i == n) return 1;
    if (s[i] != '-') return 0;
    i++;
    k = 0;
    while (i + k < n && is_adigit(s[i + k])) k++;
    return k >= 1 && k <= 5 && i + k == n;
}

static int ipv4_ok(const cp_t *w, int wn) {
    cp_t v[128];
    if (wn > 120) return 0;
    int n = normalise(w, wn, v, 0);
    int parts = 0, i = 0;
    for (;;) {
        int a = i;
        while (i < n && v[i] != '.') i++;
        int len = i - a;
        if (!all_adigits(v + a, len) || len > 3 || (len > 1 && v[a] == '0')) return 0;
        if (num(v + a, len) > 255) return 0;
        parts++;
        if (i == n) break;
        i++; /* the dot */
    }
    return parts == 4;
}

static int hextet_ok(const cp_t *s, int n) {
    if (n < 1 || n > 4) return 0;
    for (int i = 0; i < n; i++)
        if (!is_hex(s[i])) return 0;
    return 1;
}

/* is_ipv6: ipaddress.IPv6Address's parser (Python 3.11), on candidates made of [0-9A-Fa-f:.]. */
static int ipv6_ok(const cp_t *v, int n) {
    int hexes = 0, colon = 0;
    for (int i = 0; i < n; i++) {
        if (is_hex(v[i])) hexes++;
        if (v[i] == ':') colon = 1;
    }
    if (!colon || n < 3) return 0;
    int ps[48], pl[48], np = 0, a = 0;
    for (int i = 0; i <= n; i++) {
        if (i == n || v[i] == ':') {
            if (np >= 46) return 0;
            ps[np] = a;
            pl[np] = i - a;
            np++;
            a = i + 1;
        }
    }
    if (np < 3) return 0;
    int last_dot = 0;
    for (int i = 0; i < pl[np - 1]; i++)
        if (v[ps[np - 1] + i] == '.') last_dot = 1;
    int ipv4_tail = 0;
    if (last_dot) {
        if (!ipv4_ok(v + ps[np - 1], pl[np - 1])) return 0;
        /* Replaced by two valid hextets. */
        np += 1;
        ipv4_tail = 1;
    }
    if (np > 9) return 0;
    /* Index arithmetic below treats the two IPv4 hextets as present and valid. */
#define PL(i) ((ipv4_tail && (i) >= np - 2) ? 1 : pl[i])
#define HEXTET_OK(i) ((ipv4_tail && (i) >= np - 2) ? 1 : hextet_ok(v + ps[i], pl[i]))
    int skip = -1;
    for (int i = 1; i < np - 1; i++) {
        if (PL(i) == 0) {
            if (skip >= 0) return 0;
            skip = i;
        }
    }
    int hi, lo;
    if (skip >= 0) {
        hi = skip;
        lo = np - skip - 1;
        if (PL(0) == 0) {
            hi -= 1;
            if (hi) return 0;
        }
        if (PL(np - 1) == 0) {
            lo -= 1;
            if (lo) return 0;
        }
        if (8 - (hi + lo) < 1) return 0;
    } else {
        if (np != 8) return 0;
        if (PL(0) == 0 || PL(np - 1) == 0) return 0;
        hi = np;
        lo = 0;
    }
    for (int i = 0; i < hi; i++)
        if (!HEXTET_OK(i)) return 0;
    for (int i = np - lo; i < np; i++)
        if (!HEXTET_OK(i)) return 0;
#undef PL
#undef HEXTET_OK
    return hexes >= 2;
}

static int uscc_ok(const cp_t *w, int wn) {
    static const char alphabet[] = "0123456789ABCDEFGHJKLMNPQRTUWXY";
    static const int wt[] = {1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28};
    cp_t v[64];
    if (wn > 60) return 0;
    int n = normalise(w, wn, v, 1);
    if (n != 18) return 0;
    int val[18];
    for (int i = 0; i < 18; i++) {
        const char *p = (v[i] < 128 && v[i]) ? strchr(alphabet, (int)v[i]) : NULL;
        if (!p) return 0;
        val[i] = (int)(p - alphabet);
    }
    if (!all_adigits(v + 2, 6)) return 0;
    int t = 0;
    for (int i = 0; i < 17; i++) t += val[i] * wt[i];
    return val[17] == (31 - t % 31) % 31;
}

/* is_passport: ^(?:[EG]\d{8}|E[A-HJ-NP-Z]\d{7}|[DSP]E?\d{7})$ */
static int passport_ok(const cp_t *w, int wn) {
    cp_t v[64];
    if (wn > 60) return 0;
    int n = normalise(w, wn, v, 1);
    if (n == 9) {
        if ((v[0] == 'E' || v[0] == 'G') && all_adigits(v + 1, 8)) return 1;
        if (v[0] == 'E' && is_plate_letter(v[1]) && all_adigits(v + 2, 7)) return 1;
        if ((v[0] == 'D' || v[0] == 'S' || v[0] == 'P') && v[1] == 'E' && all_adigits(v + 2, 7))
            return 1;
        return 0;
    }
    if (n == 8) return (v[0] == 'D' || v[0] == 'S' || v[0] == 'P') && all_adigits(v + 1, 7);
    return 0;
}

/* is_plate on a candidate of detectors._PLATE_RE (province, letter, optional dot, 5-6 serial). */
static int plate_ok(const cp_t *g, int n) {
    int j = 2;
    if (j < n && (g[j] == 0xB7 || g[j] == 0x2022)) j++;
    const cp_t *t = g + j;
    int tn = n - j;
    int ok = 0;
    if (tn == 5) {
        ok = 1; /* [A-HJ-NP-Z0-9]{4} then one of the same class: the candidate is made of them */
    } else if (tn == 6) {
        ok = ((t[0] == 'D' || t[0] == 'F') && all_adigits(t + 2, 4)) ||
             (all_adigits(t, 5) && (t[5] == 'D' || t[5] == 'F'));
    }
    if (!ok) return 0;
    int letters = 0;
    for (int i = n - 5; i < n; i++) letters += is_aalpha(g[i]);
    return letters <= 2;
}

/* ---- findings ------------------------------------------------------------------------------------ */

typedef struct {
    Py_ssize_t start, end;
    int kind, pass, seq;
} finding_t;

typedef struct {
    const cp_t *t;
    Py_ssize_t n;
    finding_t *f;
    Py_ssize_t nf, capf;
    int pass;
    int oom;
} scan_t;

static void add(scan_t *s, int kind, Py_ssize_t a, Py_ssize_t b) {
    if (s->nf == s->capf) {
        Py_ssize_t cap = s->capf ? s->capf * 2 : 64;
        finding_t *f = realloc(s->f, (size_t)cap * sizeof(finding_t));
        if (!f) {
            s->oom = 1;
            return;
        }
        s->f = f;
        s->capf = cap;
    }
    s->f[s->nf++] = (finding_t){a, b, kind, s->pass, (int)s->nf};
}

/* _classify_digits(raw) */
static int classify_digits(const cp_t *raw, int rn) {
    cp_t buf[128];
    if (rn > 120) return -1;
    const cp_t *d = raw;
    int n = rn;
    int plain = 1;
    for (int i = 0; i < rn; i++)
        if (!is_adigit(raw[i])) {
            plain = 0;
            break;
        }
    if (!plain) {
        /* digits_only(raw).upper(): fold, drop whitespace and [-\u2010-\u2015\u00a0]. */
        n = 0;
        for (int i = 0; i < rn; i++) {
            cp_t c = fold(raw[i]);
            if (py_isspace(c) || c == '-' || (c >= 0x2010 && c <= 0x2015) || c == 0xA0) continue;
            buf[n++] = aupper(c);
        }
        d = buf;
        if (n && d[0] == '+') {
            d++;
            n--;
            if (starts(d, n, "86") && mobile_ok(d + 2, n - 2)) return K_MOBILE;
        }
    }
    if (n == 11 && d[0] == '1' && d[1] >= '3' && d[1] <= '9') return K_MOBILE;
    if (n == 18 && id18_ok(d, n)) return K_ID;
    if (n == 15 && id15_ok(d, n)) return K_ID;
    if (n == 13 && starts(d, n, "86") && mobile_ok(d + 2, n - 2)) return K_MOBILE;
    if (13 <= n && n <= 19 && bank_card_ok(d, n)) return K_CARD;
    if (n >= 15 && starts(d, n, "0086") && mobile_ok(d + 4, n - 4)) return K_MOBILE;
    int sep = 0;
    for (int i = 0; i < rn; i++)
        if (raw[i] == '-' || raw[i] == ' ') sep = 1;
    if (sep && landline_ok(raw, rn)) return K_LANDLINE;
    return -1;
}

/* Spans of [^ \-]+ in s[0:n]. */
static int pieces_of(const cp_t *s, int n, int *pa, int *pb, int max) {
    int k = 0, i = 0;
    while (i < n && k < max) {
        while (i < n && (s[i] == ' ' || s[i] == '-')) i++;
        if (i >= n) break;
        int a = i;
        while (i < n && s[i] != ' ' && s[i] != '-') i++;
        pa[k] = a;
        pb[k] = i;
        k++;
    }
    return k;
}

/* _digit_findings(raw, offset) */
static void digit_findings(scan_t *s, const cp_t *raw, int rn, Py_ssize_t off) {
    int kind = classify_digits(raw, rn);
    if (kind >= 0) {
        add(s, kind, off, off + rn);
        return;
    }
    int pa[128], pb[128];
    int np = pieces_of(raw, rn, pa, pb, 128);
    if (np < 2) return;
    int maxw = np < 6 ? np : 6;
    int i = 0;
    while (i < np) {
        int found = 0;
        int top = maxw < np - i ? maxw : np - i;
        for (int w = top; w >= 1; w--) {
            if (w == np) continue; /* the whole run was tried already */
            int a = pa[i], b = pb[i + w - 1];
            int k = classify_digits(raw + a, b - a);
            if (k >= 0) {
                add(s, k, off + a, off + b);
                i += w;
                found = 1;
                break;
            }
        }
        if (!found) i++;
    }
}

/* _is_digit_piece(word) */
static int is_digit_piece(const cp_t *w, int n) {
    if (n && (w[0] == '+' || w[0] == 0xFF0B)) {
        w++;
        n--;
    }
    if (n && (w[n - 1] == 'X' || w[n - 1] == 'x' || w[n - 1] == 0xFF38 || w[n - 1] == 0xFF58)) n--;
    if (n <= 0) return 0;
    for (int i = 0; i < n; i++)
        if (!is_D(w[i])) return 0;
    return 1;
}

static inline int is_dot(cp_t c) { return c == '.' || c == 0xFF0E; }

/* _IPV4_IN_WORD = (?<![0-9.])\d{1,3}(?:\.\d{1,3}){3}(?![0-9]|\.[0-9]), with its backtracking:
 * each \d{1,3} tries 3, 2, then 1 digits. */
static int ipw_match(const cp_t *w, int wn, int p, int octet, int *endp) {
    int maxk = 0;
    while (maxk < 3 && p + maxk < wn && is_D(w[p + maxk])) maxk++;
    for (int k = maxk; k >= 1; k--) {
        int q = p + k;
        if (octet < 3) {
            if (q < wn && w[q] == '.' && ipw_match(w, wn, q + 1, octet + 1, endp)) return 1;
        } else {
            if (q < wn && is_adigit(w[q])) continue;
            if (q + 1 < wn && w[q] == '.' && is_adigit(w[q + 1])) continue;
            *endp = q;
            return 1;
        }
    }
    return 0;
}

static int ipv4_in_word(const cp_t *w, int wn, int *a, int *b) {
    for (int p = 0; p < wn; p++) {
        if (p > 0 && (is_adigit(w[p - 1]) || w[p - 1] == '.')) continue;
        int e;
        if (ipw_match(w, wn, p, 0, &e)) {
            *a = p;
            *b = e;
            return 1;
        }
    }
    return 0;
}

static int count_of(const cp_t *s, int n, cp_t c) {
    int k = 0;
    for (int i = 0; i < n; i++) k += s[i] == c;
    return k;
}

/* _alnum_run_findings(text, s, e, out) */
static void alnum_run(scan_t *sc, Py_ssize_t s, Py_ssize_t e) {
    const cp_t *t = sc->t;
    Py_ssize_t n = sc->n;
    const cp_t *run = t + s;
    int rl = (int)(e - s);
    int glued_left = s > 0 && in_ascii_alnum(t[s - 1]);
    int right_free = e == n || !in_ascii_alnum(t[e]);
    int alldig = 1;
    for (int i = 0; i < rl; i++)
        if (!is_D(run[i])) {
            alldig = 0;
            break;
        }
    if (alldig) {
        if (rl >= 10 && !glued_left && right_free) {
            int k = classify_digits(run, rl);
            if (k >= 0) add(sc, k, s, e);
        }
        return;
    }
    /* _DIGIT_GROUPS.fullmatch(run): \+?[0-9]+[Xx]?(?:[ \-][0-9]+[Xx]?)* */
    int groups = 1, i = 0;
    if (run[0] == '+') i++;
    for (;;) {
        int d0 = i;
        while (i < rl && is_adigit(run[i])) i++;
        if (i == d0) {
            groups = 0;
            break;
        }
        if (i < rl && (run[i] == 'X' || run[i] == 'x')) i++;
        if (i == rl) break;
        if (run[i] == ' ' || run[i] == '-') {
            i++;
            continue;
        }
        groups = 0;
        break;
    }
    if (groups && !glued_left && right_free) {
        if (rl - count_of(run, rl, ' ') - count_of(run, rl, '-') >= 10)
            digit_findings(sc, run, rl, s);
        return;
    }
    while (rl > 0 && (run[rl - 1] == ' ' || run[rl - 1] == '-' || is_dot(run[rl - 1]))) rl--;
    int dots = count_of(run, rl, '.') + count_of(run, rl, 0xFF0E);
    int spaces = count_of(run, rl, ' '), hyphens = count_of(run, rl, '-');
    if (dots != 3 && rl - dots - spaces - hyphens < 10 &&
        !((run[0] == 'E' || run[0] == 'G') && rl >= 9))
        return;
    Py_ssize_t end = s + rl;
    int glued_right = end < n && end == e && in_ascii_alnum(t[end]);
    int wa[64], wb[64];
    int nw = pieces_of(run, rl, wa, wb, 64);
    int ga = -1, gb = -1; /* the group of consecutive digit pieces: run[ga:gb] */
#define FLUSH()                                                                        \
    do {                                                                               \
        if (ga >= 0) {                                                                 \
            const cp_t *raw = run + ga;                                                \
            int rn = gb - ga;                                                          \
            if (rn - count_of(raw, rn, ' ') - count_of(raw, rn, '-') >= 10)            \
                digit_findings(sc, raw, rn, s + ga);                                   \
            ga = gb = -1;                                                              \
        }                                                                              \
    } while (0)
    for (int k = 0; k < nw; k++) {
        int a = wa[k], b = wb[k];
        const cp_t *word = run + a;
        int wl = b - a;
        if ((k == 0 && glued_left) || (k == nw - 1 && glued_right)) {
            FLUSH();
            continue;
        }
        int has_dot = 0;
        for (int j = 0; j < wl; j++)
            if (is_dot(word[j])) has_dot = 1;
        if (has_dot) {
            FLUSH();
            if (ipv4_ok(word, wl)) {
                add(sc, K_IP, s + a, s + b);
                continue;
            }
            int ia, ib;
            if (ipv4_in_word(word, wl, &ia, &ib) && ipv4_ok(word + ia, ib - ia)) {
                add(sc, K_IP, s + a + ia, s + a + ib);
                continue;
            }
            /* A decimal point joins digits into a price: those parts are not identifiers. */
            int j = 0;
            while (j < wl) {
                while (j < wl && is_dot(word[j])) j++;
                if (j >= wl) break;
                int pa = j;
                while (j < wl && !is_dot(word[j])) j++;
                int pb = j;
                int before = pa >= 2 && is_D(word[pa - 2]);
                int after = pb + 1 < wl && is_D(word[pb + 1]);
                if (before || after) continue;
                if (is_digit_piece(word + pa, pb - pa) && pb - pa >= 10)
                    digit_findings(sc, word + pa, pb - pa, s + a + pa);
            }
            continue;
        }
        if (is_digit_piece(word, wl)) {
            if (ga < 0) ga = a;
            gb = b;
            continue;
        }
        FLUSH();
        if (wl == 18 && uscc_ok(word, wl))
            add(sc, K_USCC, s + a, s + b);
        else if (wl == 9 && passport_ok(word, wl))
            add(sc, K_PASSPORT, s + a, s + b);
    }
    FLUSH();
#undef FLUSH
}

/* ---- names ------------------------------------------------------------------------------------- */

static inline int compound_at(const cp_t *t, Py_ssize_t n, Py_ssize_t i) {
    return i + 1 < n && in_set(t[i], S_COMPOUND_FIRST) && wset_has(&w_compound, t + i, 2);
}

/* _name_span(text, start, end): 1 and the span, or 0. */
static int name_span(const scan_t *s, Py_ssize_t start, Py_ssize_t end, Py_ssize_t *oa,
                     Py_ssize_t *ob) {
    const cp_t *t = s->t;
    Py_ssize_t n = s->n;
    Py_ssize_t sl = compound_at(t, n, start) ? 2 : 1;
    Py_ssize_t gs = start + sl;
    Py_ssize_t glen = end - gs;
    if (glen <= 0) return 0;
    if (glen == 2) {
        Py_ssize_t pe = end + 1 <= n ? 2 : 1;
        if (in_set(t[gs + 1], S_NAME_STOP) || wset_has(&w_cues_after, t + end - 1, pe)) {
            end -= 1;
            glen = 1;
        }
    }
    for (Py_ssize_t i = gs; i < gs + glen; i++)
        if (in_set(t[i], S_NOT_GIVEN)) return 0;
    Py_ssize_t two = start + 2 <= n ? 2 : n - start;
    if (wset_has(&w_common, t + start, two) || wset_has(&w_common, t + start, end - start))
        return 0;
    *oa = start;
    *ob = end;
    return 1;
}

static inline int is_sep_after_cue(cp_t c) {
    return c == ':' || c == 0xFF1A || c == ' ' || c == '\t' || c == 0x3000 || c == 0xA0;
}

static Py_ssize_t han_run(const cp_t *t, Py_ssize_t n, Py_ssize_t i, int max) {
    Py_ssize_t k = 0;
    while (k < max && i + k < n && is_han(t[i + k])) k++;
    return k;
}

/* _NAME_AFTER_CUE.match(text, p): (?:[:：]|SPACE){0,2}(?:是|为)?(SURNAME[HAN]{1,2}).
 * Separators, 是 and 为 are neither surnames nor Han given-name starts that a shorter choice could
 * use instead (configure() checks it), so only the greedy choice can succeed; the surname tries a
 * compound first, then a single one, as the alternation does. */
static int name_after_cue(const scan_t *s, Py_ssize_t p, Py_ssize_t *ga, Py_ssize_t *gb) {
    const cp_t *t = s->t;
    Py_ssize_t n = s->n, q = p;
    int k = 0;
    while (k < 2 && q < n && is_sep_after_cue(t[q])) {
        q++;
        k++;
    }
    if (q < n && (t[q] == 0x662F || t[q] == 0x4E3A)) q++; /* 是 为 */
    if (compound_at(t, n, q)) {
        Py_ssize_t g = han_run(t, n, q + 2, 2);
        if (g >= 1) {
            *ga = q;
            *gb = q + 2 + g;
            return 1;
        }
    }
    if (q < n && in_set(t[q], S_SURNAME)) {
        Py_ssize_t g = han_run(t, n, q + 1, 2);
        if (g >= 1) {
            *ga = q;
            *gb = q + 1 + g;
            return 1;
        }
    }
    return 0;
}

/* _NAME_BEFORE_CUE.search(text[ws:cs]): SURNAME[HAN]{1,2}$, where $ also matches before a final
 * newline. */
static int name_before_cue(const scan_t *s, Py_ssize_t ws, Py_ssize_t cs, Py_ssize_t *ma,
                           Py_ssize_t *me) {
    const cp_t *t = s->t;
    int nl_end = cs > ws && t[cs - 1] == '\n';
    for (Py_ssize_t p = ws; p < cs; p++) {
        for (int alt = 0; alt < 2; alt++) {
            Py_ssize_t sl;
            if (alt == 0) {
                if (!compound_at(t, cs, p)) continue;
                sl = 2;
            } else {
                if (!in_set(t[p], S_SURNAME)) continue;
                sl = 1;
            }
            Py_ssize_t g = han_run(t, cs, p + sl, 2);
            for (; g >= 1; g--) {
                Py_ssize_t e = p + sl + g;
                if (e == cs || (nl_end && e == cs - 1)) {
                    *ma = p;
                    *me = e;
                    return 1;
                }
            }
        }
    }
    return 0;
}

/* One cue word at [i, i + len): _cue_findings' body. */
static void cue_findings(scan_t *s, Py_ssize_t i, Py_ssize_t len) {
    const cp_t *t = s->t;
    Py_ssize_t a, b;
    if (wset_has(&w_cues_before, t + i, len)) {
        Py_ssize_t ga, gb;
        if (name_after_cue(s, i + len, &ga, &gb) && name_span(s, ga, gb, &a, &b)) {
            add(s, K_NAME, a, b);
            return;
        }
    }
    if (wset_has(&w_cues_after, t + i, len)) {
        Py_ssize_t ws = i >= 4 ? i - 4 : 0, ma, me;
        if (!name_before_cue(s, ws, i, &ma, &me)) return;
        /* "感谢张先生", "我和李女士": the real name is the surname alone, which we keep. */
        if (me - ma == 2 && in_set(t[ma], S_SHIFT) && in_set(t[ma + 1], S_SURNAME)) return;
        if (name_span(s, ma, i, &a, &b)) add(s, K_NAME, a, b);
    }
}

/* ---- addresses ------------------------------------------------------------------------------ */

static inline int is_addr_anchor(cp_t c) {
    switch (c) {
    case 0x8DEF: case 0x8857: case 0x9053: case 0x5DF7: case 0x5F04: case 0x540C: case 0x533A:
    case 0x56ED: case 0x5BD3: case 0x53A6: case 0x6751: case 0x82D1: case 0x573A: case 0x5FC3:
        return 1; /* 路街道巷弄同区园寓厦村苑场心 */
    }
    return 0;
}
static inline int is_road_end(cp_t c) {
    switch (c) {
    case 0x8DEF: case 0x8857: case 0x9053: case 0x5DF7: case 0x5F04: case 0x540C:
        return 1; /* 路街道巷弄同 */
    }
    return 0;
}
#define HAO 0x53F7  /* 号 */
#define LOU 0x697C  /* 楼 */

/* Length of the anchor's suffix at i: 号楼 | 号 | 栋 | 幢 | 座 (0 if none). */
static int anchor_suffix(const cp_t *t, Py_ssize_t n, Py_ssize_t i) {
    if (i >= n) return 0;
    if (t[i] == HAO) return (i + 1 < n && t[i + 1] == LOU) ? 2 : 1;
    if (t[i] == 0x680B || t[i] == 0x5E62 || t[i] == 0x5EA7) return 1; /* 栋 幢 座 */
    return 0;
}

/* _ADDR_TAIL's suffixes: 号楼|栋|幢|座|单元|楼|层|室|号|户 */
static int tail_suffix(const cp_t *t, Py_ssize_t n, Py_ssize_t i) {
    if (i >= n) return 0;
    cp_t c = t[i];
    if (c == HAO) return (i + 1 < n && t[i + 1] == LOU) ? 2 : 1;
    if (c == 0x5355) return (i + 1 < n && t[i + 1] == 0x5143) ? 2 : 0; /* 单元 */
    if (c == 0x680B || c == 0x5E62 || c == 0x5EA7 || c == LOU || c == 0x5C42 || c == 0x5BA4 ||
        c == 0x6237)
        return 1; /* 栋 幢 座 楼 层 室 户 */
    return 0;
}

static inline int addr_mid(cp_t c) { return is_D(c) || is_cn_num(c) || is_aalpha(c); }

/* _address_span */
static void address_span(scan_t *s, Py_ssize_t start, Py_ssize_t end) {
    const cp_t *t = s->t;
    Py_ssize_t n = s->n, left = start, limit = start > 12 ? start - 12 : 0;
    while (left > limit && !in_set(t[left - 1], S_ADDR_STOP) &&
           (is_han(t[left - 1]) || is_D(t[left - 1]) || is_aalpha(t[left - 1])))
        left--;
    Py_ssize_t p = end;
    for (;;) {
        Py_ssize_t r = 0;
        while (r < 7 && p + r < n && (addr_mid(t[p + r]) || t[p + r] == '-')) r++;
        if (r < 1 || r > 6) break;
        int sl = tail_suffix(t, n, p + r);
        if (!sl) break;
        p += r + sl;
    }
    add(s, K_ADDRESS, left, p);
}

/* ---- scan() ------------------------------------------------------------------------------------ */

static int cmp_finding(const void *x, const void *y) {
    const finding_t *a = x, *b = y;
    if (a->start != b->start) return a->start < b->start ? -1 : 1;
    if (a->pass != b->pass) return a->pass - b->pass;
    return a->seq - b->seq;
}

static void scan(scan_t *s) {
    const cp_t *t = s->t;
    Py_ssize_t n = s->n;
    Py_ssize_t next[P_COUNT] = {0};
    s->nf = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        cp_t c = t[i];
        /* 1. _ALNUM_RUN: [0-9０-９+＋A-Z][0-9０-９A-Z \-.．xＸｘ]{6,60}.  Every character the
         * repetition accepts is also accepted one position later, so a failed start never hides a
         * later match inside it. */
        if (i >= next[P_ALNUM] && (is_D(c) || is_aupper(c) || c == '+' || c == 0xFF0B)) {
            Py_ssize_t r = 0;
            while (r < 60 && i + 1 + r < n) {
                cp_t d = t[i + 1 + r];
                if (!(is_D(d) || is_aupper(d) || d == ' ' || d == '-' || d == '.' ||
                      d == 0xFF0E || d == 'x' || d == 0xFF38 || d == 0xFF58))
                    break;
                r++;
            }
            if (r >= 6) {
                s->pass = P_ALNUM;
                alnum_run(s, i, i + 1 + r);
                next[P_ALNUM] = i + 1 + r;
            }
        }
        /* 2. _EMAIL_AT: [@＠] then dot-separated labels [A-Za-z0-9-]+; the match ends after the
         * last label (the second or later) made of 2-24 letters: the final \.[A-Za-z]{2,24} must
         * be followed by no label character, so it is always a whole label. */
        if ((c == '@' || c == 0xFF20) && i >= next[P_EMAIL]) {
            Py_ssize_t j = i + 1, last = -1;
            int k = 0;
            for (;;) {
                Py_ssize_t st = j;
                while (j < n && (is_adigit(t[j]) || is_aalpha(t[j]) || t[j] == '-')) j++;
                if (j == st) break;
                k++;
                if (k >= 2 && j - st >= 2 && j - st <= 24) {
                    int letters = 1;
                    for (Py_ssize_t q = st; q < j; q++)
                        if (!is_aalpha(t[q])) letters = 0;
                    if (letters) last = j;
                }
                if (j + 1 < n && t[j] == '.' &&
                    (is_adigit(t[j + 1]) || is_aalpha(t[j + 1]) || t[j + 1] == '-'))
                    j++;
                else
                    break;
            }
            if (last >= 0) {
                Py_ssize_t left = i, limit = i > 64 ? i - 64 : 0;
                while (left > limit) {
                    cp_t d = t[left - 1];
                    if (!(is_adigit(d) || is_aalpha(d) || d == '.' || d == '_' || d == '%' ||
                          d == '+' || d == '-'))
                        break;
                    left--;
                }
                if (left < i) {
                    s->pass = P_EMAIL;
                    add(s, K_EMAIL, left, last);
                }
                next[P_EMAIL] = last;
            }
        }
        /* 3. _IPV6_COLON: :[0-9A-Fa-f:.]{2,40} */
        if (c == ':' && i >= next[P_IPV6]) {
            Py_ssize_t r = 0;
            while (r < 40 && i + 1 + r < n && (is_hex(t[i + 1 + r]) || t[i + 1 + r] == ':' ||
                                                t[i + 1 + r] == '.'))
                r++;
            if (r >= 2) {
                Py_ssize_t me = i + 1 + r, a = i, limit = i > 4 ? i - 4 : 0;
                next[P_IPV6] = me;
                while (a > limit && is_hex(t[a - 1])) a--;
                if (!(a > 0 && in_ascii_alnum(t[a - 1]))) {
                    Py_ssize_t ce = me;
                    while (ce > a && t[ce - 1] == '.') ce--;
                    int colons = (int)count_of(t + a, (int)(ce - a), ':');
                    if (colons >= 2 && ipv6_ok(t + a, (int)(ce - a))) {
                        s->pass = P_IPV6;
                        add(s, K_IP, a, ce);
                    }
                }
            }
        }
        /* 4. _PAREN_LANDLINE: [(（]0[0-9０-９]{2,3}[)）]SPACE?[2-9][0-9０-９]{6,7}(?![0-9０-９]).
         * A longer digit run than a repetition allows fails whatever it backtracks to. */
        if ((c == '(' || c == 0xFF08) && i >= next[P_PAREN] && i + 1 < n && t[i + 1] == '0') {
            Py_ssize_t j = i + 2, r = 0;
            while (j + r < n && is_D(t[j + r]) && r < 4) r++;
            if (r >= 2 && r <= 3 && j + r < n && (t[j + r] == ')' || t[j + r] == 0xFF09)) {
                j += r + 1;
                if (j < n && (t[j] == ' ' || t[j] == '\t' || t[j] == 0x3000 || t[j] == 0xA0))
                    j++;
                if (j < n && t[j] >= '2' && t[j] <= '9') {
                    j++;
                    Py_ssize_t k = 0;
                    while (j + k < n && is_D(t[j + k]) && k < 8) k++;
                    if (k >= 6 && k <= 7) {
                        Py_ssize_t me = j + k;
                        next[P_PAREN] = me;
                        if (i == 0 || !in_ascii_alnum(t[i - 1])) {
                            s->pass = P_PAREN;
                            add(s, K_LANDLINE, i, me);
                        }
                    }
                }
            }
        }
        /* 5. _PLATE_RE: [PROVINCE][A-HJ-NP-Z][·•]?[A-HJ-NP-Z0-9]{5,6}(?![ALNUM]) */
        if (i >= next[P_PLATE] && in_set(c, S_PLATE_PROV) && i + 1 < n &&
            is_plate_letter(t[i + 1])) {
            Py_ssize_t j = i + 2;
            if (j < n && (t[j] == 0xB7 || t[j] == 0x2022)) j++;
            Py_ssize_t r = 0;
            while (r < 7 && j + r < n && (is_plate_letter(t[j + r]) || is_adigit(t[j + r]))) r++;
            if ((r == 5 || r == 6) && !(j + r < n && in_alnum(t[j + r]))) {
                Py_ssize_t me = j + r;
                next[P_PLATE] = me;
                if (plate_ok(t + i, (int)(me - i))) {
                    s->pass = P_PLATE;
                    add(s, K_PLATE, i, me);
                }
            }
        }
        /* 6. _CUE_RE: the longest cue word starting here (the prefix-factored alternation finds
         * the same one). */
        if (i >= next[P_CUE] && in_set(c, S_CUE_FIRST)) {
            for (Py_ssize_t len = WMAX; len >= 1; len--) {
                if (i + len > n || !wset_has(&w_cues, t + i, len)) continue;
                next[P_CUE] = i + len;
                s->pass = P_CUE;
                cue_findings(s, i, len);
                break;
            }
        }
        /* 7. _ADDR_ANCHOR: [ANCHOR][D CN_NUM A-Za-z]{1,5}(?:号楼|号|栋|幢|座).  The suffixes are
         * not in the middle class, so the middle must be the whole run. */
        if (i >= next[P_ADDR] && is_addr_anchor(c)) {
            Py_ssize_t r = 0;
            while (r < 6 && i + 1 + r < n && addr_mid(t[i + 1 + r])) r++;
            if (r >= 1 && r <= 5) {
                int sl = anchor_suffix(t, n, i + 1 + r);
                if (sl) {
                    Py_ssize_t me = i + 1 + r + sl;
                    next[P_ADDR] = me;
                    /* Estates need a building suffix; "区3号" alone is too weak. */
                    if (is_road_end(c) || !(sl == 1 && t[me - 1] == HAO)) {
                        s->pass = P_ADDR;
                        address_span(s, i, me);
                    }
                }
            }
        }
    }
    if (s->nf > 1) qsort(s->f, (size_t)s->nf, sizeof(finding_t), cmp_finding);
    /* _merge: address expansion can reach back over an earlier finding. */
    if (s->nf > 1) {
        Py_ssize_t m = 0;
        for (Py_ssize_t k = 1; k < s->nf; k++) {
            finding_t *last = &s->f[m], *f = &s->f[k];
            if (f->start < last->end) {
                if (f->kind == K_ADDRESS) last->kind = K_ADDRESS;
                if (f->end > last->end) last->end = f->end;
            } else {
                s->f[++m] = *f;
            }
        }
        s->nf = m + 1;
    }
}

/* ---- UTF-8 ------------------------------------------------------------------------------------- */

typedef struct {
    cp_t *cps;
    uint32_t *at; /* byte offset of each code point, plus the end */
    Py_ssize_t cap;
} decoded_t;

static int reserve(decoded_t *d, Py_ssize_t n) {
    if (n + 1 <= d->cap) return 0;
    Py_ssize_t cap = d->cap ? d->cap : 256;
    while (cap < n + 1) cap *= 2;
    cp_t *c = realloc(d->cps, (size_t)cap * sizeof(cp_t));
    if (!c) return -1;
    d->cps = c;
    uint32_t *a = realloc(d->at, (size_t)cap * sizeof(uint32_t));
    if (!a) return -1;
    d->at = a;
    d->cap = cap;
    return 0;
}

/* Decode s[0:len]; returns the number of code points, -1 on invalid UTF-8, -2 out of memory. */
static Py_ssize_t decode(decoded_t *d, const uint8_t *s, Py_ssize_t len) {
    if (reserve(d, len) < 0) return -2;
    Py_ssize_t i = 0, k = 0;
    while (i < len) {
        uint8_t b = s[i];
        cp_t c;
        int extra;
        if (b < 0x80) {
            c = b;
            extra = 0;
        } else if ((b & 0xE0) == 0xC0) {
            c = b & 0x1F;
            extra = 1;
        } else if ((b & 0xF0) == 0xE0) {
            c = b & 0x0F;
            extra = 2;
        } else if ((b & 0xF8) == 0xF0) {
            c = b & 0x07;
            extra = 3;
        } else
            return -1;
        if (i + extra >= len + (extra == 0)) return -1;
        for (int e = 1; e <= extra; e++) {
            if ((s[i + e] & 0xC0) != 0x80) return -1;
            c = (c << 6) | (s[i + e] & 0x3F);
        }
        d->cps[k] = c;
        d->at[k] = (uint32_t)i;
        k++;
        i += extra + 1;
    }
    d->at[k] = (uint32_t)len;
    return k;
}

/* ---- output buffer ---------------------------------------------------------------------------- */

typedef struct {
    char *p;
    size_t len, cap;
} obuf_t;

static int put(obuf_t *o, const void *src, size_t n) {
    if (o->len + n > o->cap) {
        size_t cap = o->cap ? o->cap : 4096;
        while (cap < o->len + n) cap *= 2;
        char *p = realloc(o->p, cap);
        if (!p) return -1;
        o->p = p;
        o->cap = cap;
    }
    if (n) memcpy(o->p + o->len, src, n);
    o->len += n;
    return 0;
}

/* Redact one cell s[0:len] into o; counts per kind are added to counts.  0, or -1 invalid UTF-8,
 * -2 out of memory. */
static int redact_cell(scan_t *sc, decoded_t *d, const uint8_t *s, Py_ssize_t len, obuf_t *o,
                       long long *counts) {
    Py_ssize_t n = decode(d, s, len);
    if (n < 0) return (int)n;
    sc->t = d->cps;
    sc->n = n;
    scan(sc);
    if (sc->oom) return -2;
    size_t pos = 0;
    for (Py_ssize_t k = 0; k < sc->nf; k++) {
        finding_t *f = &sc->f[k];
        size_t a = d->at[f->start], b = d->at[f->end];
        if (put(o, s + pos, a - pos) < 0 || put(o, tag_utf8[f->kind], tag_len[f->kind]) < 0)
            return -2;
        pos = b;
        counts[f->kind]++;
    }
    if (put(o, s + pos, (size_t)len - pos) < 0) return -2;
    return 0;
}

static PyObject *counts_tuple(const long long *counts) {
    PyObject *t = PyTuple_New(K_COUNT);
    if (!t) return NULL;
    for (int k = 0; k < K_COUNT; k++) {
        PyObject *v = PyLong_FromLongLong(counts[k]);
        if (!v) {
            Py_DECREF(t);
            return NULL;
        }
        PyTuple_SET_ITEM(t, k, v);
    }
    return t;
}

static int check_configured(void) {
    if (!configured) {
        PyErr_SetString(PyExc_RuntimeError, "_fastscan.configure() was not called");
        return -1;
    }
    return 0;
}

/* redact_text(text) -> (redacted, counts): one string, for tests and single values. */
static PyObject *redact_text(PyObject *self, PyObject *arg) {
    (void)self;
    if (check_configured() < 0) return NULL;
    if (!PyUnicode_Check(arg)) {
        PyErr_SetString(PyExc_TypeError, "expected str");
        return NULL;
    }
    Py_ssize_t len;
    const char *s = PyUnicode_AsUTF8AndSize(arg, &len);
    if (!s) return NULL;
    scan_t sc = {0};
    decoded_t d = {0};
    obuf_t o = {0};
    long long counts[K_COUNT] = {0};
    int rc = redact_cell(&sc, &d, (const uint8_t *)s, len, &o, counts);
    PyObject *res = NULL;
    if (rc == 0) {
        PyObject *str = PyUnicode_DecodeUTF8(o.p ? o.p : "", (Py_ssize_t)o.len, "strict");
        PyObject *ct = str ? counts_tuple(counts) : NULL;
        if (str && ct) res = PyTuple_Pack(2, str, ct);
        Py_XDECREF(str);
        Py_XDECREF(ct);
    } else if (rc == -2) {
        PyErr_NoMemory();
    } else {
        PyErr_SetString(PyExc_ValueError, "invalid UTF-8");
    }
    free(sc.f);
    free(d.cps);
    free(d.at);
    free(o.p);
    return res;
}

/* A string array's cells, from (offsets, data, offset) with the buffers held. */
typedef struct {
    Py_buffer ob, db;
    int have_ob, have_db;
    const int32_t *offs;
    const uint8_t *data;
} cells_t;

static void cells_release(cells_t *c) {
    if (c->have_ob) PyBuffer_Release(&c->ob);
    if (c->have_db) PyBuffer_Release(&c->db);
    c->have_ob = c->have_db = 0;
}

/* Hold and check the buffers of `length` cells from `offset`: -1 with an exception set if they
 * are not a well-formed string array. */
static int cells_get(cells_t *c, PyObject *offs, PyObject *data, Py_ssize_t offset,
                     Py_ssize_t length) {
    memset(c, 0, sizeof *c);
    if (offset < 0 || length < 0) {
        PyErr_SetString(PyExc_ValueError, "negative offset or length");
        return -1;
    }
    if (PyObject_GetBuffer(offs, &c->ob, PyBUF_SIMPLE) < 0) return -1;
    c->have_ob = 1;
    if (data != Py_None) {
        if (PyObject_GetBuffer(data, &c->db, PyBUF_SIMPLE) < 0) {
            cells_release(c);
            return -1;
        }
        c->have_db = 1;
    }
    const char *err = NULL;
    if ((size_t)c->ob.len < (size_t)(offset + length + 1) * sizeof(int32_t)) {
        err = "offsets buffer too small";
    } else {
        c->offs = (const int32_t *)c->ob.buf + offset;
        c->data = c->have_db ? (const uint8_t *)c->db.buf : (const uint8_t *)"";
        Py_ssize_t dlen = c->have_db ? c->db.len : 0;
        for (Py_ssize_t i = 0; i < length && !err; i++)
            if (c->offs[i] < 0 || c->offs[i] > c->offs[i + 1]) err = "offsets not increasing";
        if (!err && (c->offs[0] < 0 || c->offs[length] > dlen)) err = "offsets past the data";
    }
    if (err) {
        PyErr_SetString(PyExc_ValueError, err);
        cells_release(c);
        return -1;
    }
    return 0;
}

/* (offsets bytes, data bytes, extra) for a finished output array; takes the reference to `extra`
 * (NULL if building it failed). */
static PyObject *array_result(const int32_t *offs, Py_ssize_t length, const obuf_t *o,
                              PyObject *extra) {
    PyObject *res = NULL;
    PyObject *po = extra ? PyBytes_FromStringAndSize((const char *)offs,
                                                     (Py_ssize_t)((length + 1) * sizeof(int32_t)))
                         : NULL;
    PyObject *pd = po ? PyBytes_FromStringAndSize(o->p ? o->p : "", (Py_ssize_t)o->len) : NULL;
    if (pd) res = PyTuple_Pack(3, po, pd, extra);
    Py_XDECREF(po);
    Py_XDECREF(pd);
    Py_XDECREF(extra);
    return res;
}

/* The exception for a failed array pass (rc from the cell loops). */
static void set_array_error(int rc) {
    if (rc == -1)
        PyErr_SetString(PyExc_ValueError, "invalid UTF-8");
    else if (rc == -3)
        PyErr_SetString(PyExc_ValueError, "output larger than a string array holds");
    else
        PyErr_NoMemory();
}

/* redact_array(offsets, data, offset, length) -> (offsets bytes, data bytes, counts)
 * over the cells of a pyarrow string array (int32 offsets).  Null cells have whatever bytes
 * their offsets give (normally none) and are copied as they are; the caller restores nulls. */
static PyObject *redact_array(PyObject *self, PyObject *args) {
    (void)self;
    PyObject *off_obj, *data_obj;
    Py_ssize_t offset, length;
    if (!PyArg_ParseTuple(args, "OOnn", &off_obj, &data_obj, &offset, &length)) return NULL;
    if (check_configured() < 0) return NULL;
    cells_t c;
    if (cells_get(&c, off_obj, data_obj, offset, length) < 0) return NULL;
    PyObject *res = NULL;
    int32_t *out_offs = malloc((size_t)(length + 1) * sizeof(int32_t));
    obuf_t o = {0};
    scan_t sc = {0};
    decoded_t d = {0};
    long long counts[K_COUNT] = {0};
    int rc = out_offs ? 0 : -2;
    Py_BEGIN_ALLOW_THREADS
    if (out_offs) out_offs[0] = 0;
    for (Py_ssize_t i = 0; i < length && rc == 0; i++) {
        Py_ssize_t a = c.offs[i], b = c.offs[i + 1];
        rc = redact_cell(&sc, &d, c.data + a, b - a, &o, counts);
        if (rc == 0 && o.len > INT32_MAX) rc = -3;
        if (rc == 0) out_offs[i + 1] = (int32_t)o.len;
    }
    Py_END_ALLOW_THREADS
    if (rc == 0)
        res = array_result(out_offs, length, &o, counts_tuple(counts));
    else
        set_array_error(rc);
    free(out_offs);
    free(o.p);
    free(sc.f);
    free(d.cps);
    free(d.at);
    cells_release(&c);
    return res;
}

static Py_ssize_t utf8_chars(const uint8_t *s, Py_ssize_t n) {
    Py_ssize_t k = 0;
    for (Py_ssize_t i = 0; i < n; i++) k += (s[i] & 0xC0) != 0x80;
    return k;
}

/* cell.replace(value, tag) into o (UTF-8 is self-synchronising: a byte match is a character
 * match). */
static int replace_all(obuf_t *o, const uint8_t *cell, size_t n, const uint8_t *v, size_t vn,
                       const char *tag, size_t tn) {
    o->len = 0;
    size_t pos = 0;
    for (;;) {
        const uint8_t *hit = memmem(cell + pos, n - pos, v, vn);
        if (!hit) break;
        size_t at = (size_t)(hit - cell);
        if (put(o, cell + pos, at - pos) < 0 || put(o, tag, tn) < 0) return -1;
        pos = at + vn;
    }
    return put(o, cell + pos, n - pos);
}

/* redact_known(offsets, data, offset, length, columns, tag) -> (offsets, data, replaced)
 *
 * detectors.redact_known_values over arrays: for each column of `columns` (tuples (offsets, data,
 * offset) of arrays as long as this one) in turn, a cell that contains the same row's value of
 * that column (two characters or more) has every occurrence replaced by `tag`.  `replaced` counts
 * (row, column) pairs, as the Python function does.  Nulls must have been filled with "". */
static PyObject *redact_known(PyObject *self, PyObject *args) {
    (void)self;
    PyObject *off_obj, *data_obj, *columns, *tag_obj;
    Py_ssize_t offset, length;
    if (!PyArg_ParseTuple(args, "OOnnOO", &off_obj, &data_obj, &offset, &length, &columns,
                          &tag_obj))
        return NULL;
    char *tag;
    Py_ssize_t tn;
    if (PyBytes_AsStringAndSize(tag_obj, &tag, &tn) < 0) return NULL;
    PyObject *fast = PySequence_Fast(columns, "columns: expected a sequence");
    if (!fast) return NULL;
    Py_ssize_t nc = PySequence_Fast_GET_SIZE(fast);
    cells_t cells;
    cells_t *cols = calloc((size_t)(nc ? nc : 1), sizeof(cells_t));
    PyObject *res = NULL;
    Py_ssize_t got = 0;
    if (!cols) {
        PyErr_NoMemory();
        Py_DECREF(fast);
        return NULL;
    }
    if (cells_get(&cells, off_obj, data_obj, offset, length) < 0) goto done_cols;
    for (got = 0; got < nc; got++) {
        PyObject *o, *d;
        Py_ssize_t coff;
        if (!PyArg_ParseTuple(PySequence_Fast_GET_ITEM(fast, got), "OOn", &o, &d, &coff) ||
            cells_get(&cols[got], o, d, coff, length) < 0)
            goto done;
    }
    {
        int32_t *out_offs = malloc((size_t)(length + 1) * sizeof(int32_t));
        obuf_t out = {0}, a = {0}, b = {0};
        long long replaced = 0;
        int rc = out_offs ? 0 : -2;
        Py_BEGIN_ALLOW_THREADS
        if (out_offs) out_offs[0] = 0;
        for (Py_ssize_t i = 0; i < length && rc == 0; i++) {
            const uint8_t *cell = cells.data + cells.offs[i];
            size_t n = (size_t)(cells.offs[i + 1] - cells.offs[i]);
            obuf_t *cur = &a, *spare = &b;
            int changed = 0;
            for (Py_ssize_t j = 0; j < nc && rc == 0; j++) {
                const uint8_t *v = cols[j].data + cols[j].offs[i];
                size_t vn = (size_t)(cols[j].offs[i + 1] - cols[j].offs[i]);
                if (!n || !vn || utf8_chars(v, (Py_ssize_t)vn) < 2 || !memmem(cell, n, v, vn))
                    continue;
                if (replace_all(spare, cell, n, v, vn, tag, (size_t)tn) < 0) rc = -2;
                obuf_t *t = cur;
                cur = spare;
                spare = t;
                cell = (const uint8_t *)cur->p;
                n = cur->len;
                changed = 1;
                replaced++;
            }
            if (rc == 0 && put(&out, changed ? (const uint8_t *)cur->p : cell, n) < 0) rc = -2;
            if (rc == 0 && out.len > INT32_MAX) rc = -3;
            if (rc == 0) out_offs[i + 1] = (int32_t)out.len;
        }
        Py_END_ALLOW_THREADS
        if (rc == 0)
            res = array_result(out_offs, length, &out, PyLong_FromLongLong(replaced));
        else
            set_array_error(rc);
        free(out_offs);
        free(out.p);
        free(a.p);
        free(b.p);
    }
done:
    for (Py_ssize_t j = 0; j < got; j++) cells_release(&cols[j]);
    cells_release(&cells);
done_cols:
    free(cols);
    Py_DECREF(fast);
    return res;
}

/* starts_with_any(offsets, data, offset, length, prefixes) -> bool: does any cell start with one
 * of `prefixes` (a tuple of bytes)?  The CSV writer asks it of every column it writes (formula
 * injection), and the answer is nearly always no: one pass over the first bytes, no array built. */
static PyObject *starts_with_any(PyObject *self, PyObject *args) {
    (void)self;
    PyObject *off_obj, *data_obj, *prefixes;
    Py_ssize_t offset, length;
    if (!PyArg_ParseTuple(args, "OOnnO!", &off_obj, &data_obj, &offset, &length, &PyTuple_Type,
                          &prefixes))
        return NULL;
    Py_ssize_t np = PyTuple_GET_SIZE(prefixes);
    if (np > 32) {
        PyErr_SetString(PyExc_ValueError, "at most 32 prefixes");
        return NULL;
    }
    const char *pp[32];
    Py_ssize_t pl[32];
    uint8_t first[256] = {0};
    for (Py_ssize_t k = 0; k < np; k++) {
        char *b;
        if (PyBytes_AsStringAndSize(PyTuple_GET_ITEM(prefixes, k), &b, &pl[k]) < 0) return NULL;
        if (pl[k] < 1) {
            PyErr_SetString(PyExc_ValueError, "empty prefix");
            return NULL;
        }
        pp[k] = b;
        first[(uint8_t)b[0]] = 1;
    }
    cells_t c;
    if (cells_get(&c, off_obj, data_obj, offset, length) < 0) return NULL;
    int hit = 0;
    for (Py_ssize_t i = 0; i < length && !hit; i++) {
        Py_ssize_t a = c.offs[i], n = c.offs[i + 1] - a;
        if (!n || !first[c.data[a]]) continue;
        for (Py_ssize_t k = 0; k < np && !hit; k++)
            hit = n >= pl[k] && !memcmp(c.data + a, pp[k], (size_t)pl[k]);
    }
    cells_release(&c);
    return PyBool_FromLong(hit);
}

/* configure(tags, cues_before, cues_after, compound_surnames, single_surnames, common_words,
 *           name_stop_chars, not_given_chars, shift_chars, plate_provinces, addr_stop,
 *           province_codes) */
static PyObject *configure(PyObject *self, PyObject *args) {
    (void)self;
    PyObject *tags, *before, *after, *compound, *single, *common, *stop, *notgiven, *shift, *plate,
        *addr_stop, *codes;
    if (!PyArg_ParseTuple(args, "OOOOOOOOOOOO", &tags, &before, &after, &compound, &single,
                          &common, &stop, &notgiven, &shift, &plate, &addr_stop, &codes))
        return NULL;
    configured = 0;
    memset(cset, 0, sizeof cset);
    memset(province_code, 0, sizeof province_code);
    PyObject *fast = PySequence_Fast(tags, "tags: expected a sequence");
    if (!fast) return NULL;
    if (PySequence_Fast_GET_SIZE(fast) != K_COUNT) {
        Py_DECREF(fast);
        PyErr_SetString(PyExc_ValueError, "tags: wrong number of kinds");
        return NULL;
    }
    for (int k = 0; k < K_COUNT; k++) {
        Py_ssize_t len;
        const char *s = PyUnicode_AsUTF8AndSize(PySequence_Fast_GET_ITEM(fast, k), &len);
        if (!s || len >= (Py_ssize_t)sizeof tag_utf8[k]) {
            Py_DECREF(fast);
            if (s) PyErr_SetString(PyExc_ValueError, "tag too long");
            return NULL;
        }
        memcpy(tag_utf8[k], s, (size_t)len);
        tag_len[k] = (size_t)len;
    }
    Py_DECREF(fast);
    if (wset_fill(&w_cues_before, before) < 0 || wset_fill(&w_cues_after, after) < 0 ||
        wset_fill(&w_compound, compound) < 0 || wset_fill(&w_common, common) < 0)
        return NULL;
    PyObject *all = PySequence_Concat(before, after);
    if (!all) return NULL;
    int rc = wset_fill(&w_cues, all);
    Py_DECREF(all);
    if (rc < 0) return NULL;
    if (cset_fill(single, S_SURNAME) < 0 || cset_fill(stop, S_NAME_STOP) < 0 ||
        cset_fill(notgiven, S_NOT_GIVEN) < 0 || cset_fill(shift, S_SHIFT) < 0 ||
        cset_fill(plate, S_PLATE_PROV) < 0 || cset_fill(addr_stop, S_ADDR_STOP) < 0)
        return NULL;
    /* First characters of cue words and compound surnames: a cheap test before a lookup. */
    PyObject *lists[3] = {before, after, compound};
    for (int l = 0; l < 3; l++) {
        PyObject *f = PySequence_Fast(lists[l], "expected a sequence");
        if (!f) return NULL;
        for (Py_ssize_t k = 0; k < PySequence_Fast_GET_SIZE(f); k++) {
            PyObject *w = PySequence_Fast_GET_ITEM(f, k);
            Py_UCS4 c = PyUnicode_READ_CHAR(w, 0);
            if (c < 65536) cset[c] |= (uint8_t)(l == 2 ? S_COMPOUND_FIRST : S_CUE_FIRST);
            if (l == 2 && PyUnicode_GET_LENGTH(w) != 2) {
                Py_DECREF(f);
                PyErr_SetString(PyExc_ValueError, "compound surnames have two characters");
                return NULL;
            }
        }
        Py_DECREF(f);
    }
    /* name_after_cue() relies on these never starting a surname (see there). */
    static const cp_t never[] = {0x662F, 0x4E3A, ':', 0xFF1A, ' ', '\t', 0x3000, 0xA0};
    for (size_t k = 0; k < sizeof never / sizeof never[0]; k++) {
        if (cset[never[k]] & (S_SURNAME | S_COMPOUND_FIRST)) {
            PyErr_SetString(PyExc_ValueError, "a separator or 是/为 is also a surname");
            return NULL;
        }
    }
    PyObject *it = PyObject_GetIter(codes);
    if (!it) return NULL;
    PyObject *item;
    while ((item = PyIter_Next(it))) {
        long v = PyLong_AsLong(item);
        Py_DECREF(item);
        if (v < 0 || v > 99) {
            Py_DECREF(it);
            if (!PyErr_Occurred()) PyErr_SetString(PyExc_ValueError, "province code range");
            return NULL;
        }
        province_code[v] = 1;
    }
    Py_DECREF(it);
    if (PyErr_Occurred()) return NULL;
    configured = 1;
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"configure", configure, METH_VARARGS, "Load the word lists (detectors.py calls it once)."},
    {"redact_text", redact_text, METH_O, "redact_text(text) -> (redacted, counts by kind)"},
    {"starts_with_any", starts_with_any, METH_VARARGS,
     "starts_with_any(offsets, data, offset, length, prefixes) -> bool"},
    {"redact_known", redact_known, METH_VARARGS,
     "redact_known(offsets, data, offset, length, columns, tag) -> (offsets, data, replaced)"},
    {"redact_array", redact_array, METH_VARARGS,
     "redact_array(offsets, data, offset, length) -> (offsets, data, counts by kind)"},
    {NULL, NULL, 0, NULL}};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_fastscan", "The free-text scanner of detectors.py, in C.", -1, methods,
    NULL, NULL, NULL, NULL};

PyMODINIT_FUNC PyInit__fastscan(void) { return PyModule_Create(&module); }
