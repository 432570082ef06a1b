/* The registry import's per-row fast path in C: one pass over a plain UTF-8 chunk that
 * validates each line in the common shape and writes it as a row of COPY text.
 *
 * This is an accelerator, not a second rule book.  It accepts only rows it can prove valid
 * under exactly the conditions of the column-wise pass in batch.py (_plan), which the tests
 * hold to validation.validate_row; every other non-blank line is handed back to Python as
 * (line number, text) and goes through validate_row there.  tests/registry/test_codec.py
 * holds this module to the Python path row for row on generated chunks.
 *
 * Per accepted row it computes what batch._finish does: the masks, the registry keys (first
 * 8 bytes of the AES-CMAC of the value, RFC 4493) and the sealed personal data (AES-256-EAX,
 * 12-byte random nonce, 16-byte tag, "~" + base64), with AES-NI.  Without AES-NI (another CPU,
 * another architecture) available() is false and batch.py does all the work itself.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>
#include <sys/random.h>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define HAVE_AESNI 1
#define AESNI __attribute__((target("aes,sse2")))
#else
#define HAVE_AESNI 0
#endif

#define NFIELDS 14
enum { F_NAME, F_SEX, F_BIRTH, F_ETHNICITY, F_ID_TYPE, F_ID, F_REG, F_SCHOOL, F_SCHOOL_NAME, F_GRADE, F_CLASS,
       F_STATUS, F_GUARDIAN, F_PHONE };
#define NONCE 12
#define TAG 16

/* ---------------------------------------------------------------- AES-256, CMAC, EAX */

#if HAVE_AESNI
typedef struct { __m128i rk[15]; } Aes;

static AESNI __m128i expand_step(__m128i key, __m128i assist) {
    key = _mm_xor_si128(key, _mm_slli_si128(key, 4));
    key = _mm_xor_si128(key, _mm_slli_si128(key, 4));
    key = _mm_xor_si128(key, _mm_slli_si128(key, 4));
    return _mm_xor_si128(key, assist);
}

#define EVEN(i, rcon) a->rk[i] = expand_step(a->rk[i - 2], \
    _mm_shuffle_epi32(_mm_aeskeygenassist_si128(a->rk[i - 1], rcon), 0xff))
#define ODD(i) a->rk[i] = expand_step(a->rk[i - 2], \
    _mm_shuffle_epi32(_mm_aeskeygenassist_si128(a->rk[i - 1], 0), 0xaa))

static AESNI void aes_setup(Aes *a, const uint8_t key[32]) {
    a->rk[0] = _mm_loadu_si128((const __m128i *)key);
    a->rk[1] = _mm_loadu_si128((const __m128i *)(key + 16));
    EVEN(2, 0x01); ODD(3); EVEN(4, 0x02); ODD(5); EVEN(6, 0x04); ODD(7); EVEN(8, 0x08); ODD(9);
    EVEN(10, 0x10); ODD(11); EVEN(12, 0x20); ODD(13); EVEN(14, 0x40);
}

static AESNI __m128i aes_block(const Aes *a, __m128i b) {
    b = _mm_xor_si128(b, a->rk[0]);
    for (int i = 1; i < 14; i++) b = _mm_aesenc_si128(b, a->rk[i]);
    return _mm_aesenclast_si128(b, a->rk[14]);
}

typedef struct {
    Aes aes;
    __m128i k1, k2;   /* CMAC subkeys */
} Cmac;

static void dbl(uint8_t out[16], const uint8_t in[16]) {
    uint8_t carry = in[0] >> 7;
    for (int i = 0; i < 15; i++) out[i] = (uint8_t)((in[i] << 1) | (in[i + 1] >> 7));
    out[15] = (uint8_t)((in[15] << 1) ^ (carry ? 0x87 : 0));
}

static AESNI void cmac_setup(Cmac *c, const uint8_t key[32]) {
    uint8_t l[16], k1[16], k2[16];
    aes_setup(&c->aes, key);
    _mm_storeu_si128((__m128i *)l, aes_block(&c->aes, _mm_setzero_si128()));
    dbl(k1, l);
    dbl(k2, k1);
    c->k1 = _mm_loadu_si128((const __m128i *)k1);
    c->k2 = _mm_loadu_si128((const __m128i *)k2);
}

/* CMAC of msg, with the CBC state after any prefix blocks in `state` (zero for a whole message).
 * After a prefix the message must not be empty (the prefix block would be the last). */
static AESNI __m128i cmac_from(const Cmac *c, __m128i state, const uint8_t *msg, size_t len) {
    while (len > 16) {
        state = aes_block(&c->aes, _mm_xor_si128(state, _mm_loadu_si128((const __m128i *)msg)));
        msg += 16;
        len -= 16;
    }
    uint8_t last[16] = {0};
    memcpy(last, msg, len);
    __m128i block;
    if (len == 16) {
        block = _mm_xor_si128(_mm_loadu_si128((const __m128i *)last), c->k1);
    } else {
        last[len] = 0x80;
        block = _mm_xor_si128(_mm_loadu_si128((const __m128i *)last), c->k2);
    }
    return aes_block(&c->aes, _mm_xor_si128(state, block));
}

typedef struct {
    Cmac mac;
    __m128i after0, after2;  /* CBC states after EAX's prefix blocks [0] and [2] */
    __m128i header;          /* H' = OMAC^1(empty) = CMAC([1]) */
} Eax;

static AESNI __m128i tweak_block(int t) {
    uint8_t b[16] = {0};
    b[15] = (uint8_t)t;
    return _mm_loadu_si128((const __m128i *)b);
}

static AESNI void eax_setup(Eax *e, const uint8_t key[32]) {
    uint8_t one[16] = {0};
    one[15] = 1;
    cmac_setup(&e->mac, key);
    e->after0 = aes_block(&e->mac.aes, tweak_block(0));
    e->after2 = aes_block(&e->mac.aes, tweak_block(2));
    e->header = cmac_from(&e->mac, _mm_setzero_si128(), one, 16);
}

static void increment(uint8_t counter[16]) {
    for (int i = 15; i >= 0; i--)
        if (++counter[i]) break;
}

/* out: nonce, ciphertext (len bytes), tag.  len > 0. */
static AESNI void eax_seal(const Eax *e, const uint8_t nonce[NONCE], const uint8_t *plain, size_t len, uint8_t *out) {
    __m128i start = cmac_from(&e->mac, e->after0, nonce, NONCE);
    uint8_t counter[16], stream[16];
    _mm_storeu_si128((__m128i *)counter, start);
    memcpy(out, nonce, NONCE);
    uint8_t *cipher = out + NONCE;
    for (size_t done = 0; done < len; done += 16) {
        _mm_storeu_si128((__m128i *)stream, aes_block(&e->mac.aes, _mm_loadu_si128((const __m128i *)counter)));
        increment(counter);
        size_t n = len - done < 16 ? len - done : 16;
        for (size_t i = 0; i < n; i++) cipher[done + i] = plain[done + i] ^ stream[i];
    }
    __m128i mac = cmac_from(&e->mac, e->after2, cipher, len);
    __m128i tag = _mm_xor_si128(_mm_xor_si128(start, mac), e->header);
    _mm_storeu_si128((__m128i *)(cipher + len), tag);
}

static AESNI int64_t registry_key(const Cmac *c, const uint8_t *value, size_t len) {
    uint8_t tag[16];
    _mm_storeu_si128((__m128i *)tag, cmac_from(c, _mm_setzero_si128(), value, len));
    uint64_t k = 0;
    for (int i = 0; i < 8; i++) k = (k << 8) | tag[i];
    return (int64_t)k;
}
#endif

/* ---------------------------------------------------------------- output buffer */

typedef struct {
    char *data;
    size_t len, cap;
} Buf;

static int buf_reserve(Buf *b, size_t more) {
    if (b->len + more <= b->cap) return 0;
    size_t cap = b->cap ? b->cap : 1 << 16;
    while (cap < b->len + more) cap *= 2;
    char *data = PyMem_Realloc(b->data, cap);
    if (!data) {
        PyErr_NoMemory();
        return -1;
    }
    b->data = data;
    b->cap = cap;
    return 0;
}

/* Callers reserve first; these only write. */
static void put_c(Buf *b, char c) { b->data[b->len++] = c; }
static void put(Buf *b, const void *s, size_t n) {
    memcpy(b->data + b->len, s, n);
    b->len += n;
}
static void put_tab(Buf *b) { b->data[b->len++] = '\t'; }
static void put_null(Buf *b) { put(b, "\\N", 2); }
static void put_int(Buf *b, int64_t v) {
    char tmp[24];
    int n = 0;
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    do {
        tmp[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0) put_c(b, '-');
    while (n) put_c(b, tmp[--n]);
}
static void put_stars(Buf *b, size_t n) {
    memset(b->data + b->len, '*', n);
    b->len += n;
}

static const char B64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static void put_base64(Buf *b, const uint8_t *raw, size_t n) {
    size_t i = 0;
    for (; i + 3 <= n; i += 3) {
        uint32_t v = (uint32_t)raw[i] << 16 | (uint32_t)raw[i + 1] << 8 | raw[i + 2];
        char q[4] = {B64[v >> 18], B64[(v >> 12) & 63], B64[(v >> 6) & 63], B64[v & 63]};
        put(b, q, 4);
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)raw[i] << 16;
        char q[4] = {B64[v >> 18], B64[(v >> 12) & 63], '=', '='};
        put(b, q, 4);
    } else if (n - i == 2) {
        uint32_t v = (uint32_t)raw[i] << 16 | (uint32_t)raw[i + 1] << 8;
        char q[4] = {B64[v >> 18], B64[(v >> 12) & 63], B64[(v >> 6) & 63], '='};
        put(b, q, 4);
    }
}

/* ---------------------------------------------------------------- text helpers */

typedef struct {
    const char *p;
    Py_ssize_t n;
} Cell;

static int cell_eq(Cell c, const char *s, Py_ssize_t n) { return c.n == n && memcmp(c.p, s, (size_t)n) == 0; }

/* Characters (code points) of valid UTF-8. */
static Py_ssize_t chars(Cell c) {
    Py_ssize_t n = 0;
    for (Py_ssize_t i = 0; i < c.n; i++) n += ((unsigned char)c.p[i] & 0xC0) != 0x80;
    return n;
}

static int all_digits(const char *p, Py_ssize_t n) {
    for (Py_ssize_t i = 0; i < n; i++)
        if (p[i] < '0' || p[i] > '9') return 0;
    return 1;
}

static int is_alnum(char c) {
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static char upper(char c) { return (c >= 'a' && c <= 'z') ? (char)(c - 32) : c; }

/* Strict UTF-8 (no overlong forms, no surrogates, at most U+10FFFF), as Python and Polars decode it. */
static int valid_utf8(const unsigned char *s, Py_ssize_t n) {
    Py_ssize_t i = 0;
    while (i < n) {
        unsigned char c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0xC2 && c <= 0xDF) {
            if (i + 1 >= n || (s[i + 1] & 0xC0) != 0x80) return 0;
            i += 2;
        } else if (c >= 0xE0 && c <= 0xEF) {
            if (i + 2 >= n || (s[i + 1] & 0xC0) != 0x80 || (s[i + 2] & 0xC0) != 0x80) return 0;
            if (c == 0xE0 && s[i + 1] < 0xA0) return 0;
            if (c == 0xED && s[i + 1] >= 0xA0) return 0;
            i += 3;
        } else if (c >= 0xF0 && c <= 0xF4) {
            if (i + 3 >= n || (s[i + 1] & 0xC0) != 0x80 || (s[i + 2] & 0xC0) != 0x80 || (s[i + 3] & 0xC0) != 0x80)
                return 0;
            if (c == 0xF0 && s[i + 1] < 0x90) return 0;
            if (c == 0xF4 && s[i + 1] >= 0x90) return 0;
            i += 4;
        } else {
            return 0;
        }
    }
    return 1;
}

#if HAVE_AESNI
/* valid_utf8, 16 bytes at a time where they are ASCII (SSE2, always there on x86-64), telling on the way
 * whether any byte would make a line Python's (see awkward): then each line is looked at for them. */
static int scan_chunk(const unsigned char *s, Py_ssize_t n, int *awkward_any) {
    const __m128i space = _mm_set1_epi8(0x20), lf = _mm_set1_epi8('\n'), cr = _mm_set1_epi8('\r'),
                  backslash = _mm_set1_epi8('\\'), del = _mm_set1_epi8(0x7f);
    Py_ssize_t i = 0;
    int odd = 0;
    while (i + 16 <= n) {
        __m128i v = _mm_loadu_si128((const __m128i *)(s + i));
        if (_mm_movemask_epi8(v)) {  /* a non-ASCII byte: check this stretch byte by byte */
            Py_ssize_t end = i + 16;
            while (i < end) {
                unsigned char c = s[i];
                if (c < 0x80) {
                    odd |= c < 0x20 ? (c != '\n' && c != '\r') : (c == '\\' || c == 0x7f);
                    i++;
                    continue;
                }
                Py_ssize_t k = i;
                while (k < n && k < i + 4 && (k == i || (s[k] & 0xC0) == 0x80)) k++;
                if (!valid_utf8(s + i, k - i)) return 0;
                i = k;
            }
            continue;
        }
        __m128i controls = _mm_andnot_si128(_mm_or_si128(_mm_cmpeq_epi8(v, lf), _mm_cmpeq_epi8(v, cr)),
                                            _mm_cmplt_epi8(v, space));
        odd |= _mm_movemask_epi8(_mm_or_si128(controls, _mm_or_si128(_mm_cmpeq_epi8(v, backslash),
                                                                       _mm_cmpeq_epi8(v, del)))) != 0;
        i += 16;
    }
    for (; i < n; i++) {
        unsigned char c = s[i];
        if (c < 0x80) {
            odd |= c < 0x20 ? (c != '\n' && c != '\r') : (c == '\\' || c == 0x7f);
        } else {
            break;
        }
    }
    if (i < n && !valid_utf8(s + i, n - i)) return 0;
    if (i < n) odd = 1;  /* the tail was not looked at for odd bytes: let each line be */
    *awkward_any = odd;
    return 1;
}
#endif

/* The code point at s (valid UTF-8). */
static uint32_t code_point(const unsigned char *s) {
    if (s[0] < 0x80) return s[0];
    if (s[0] < 0xE0) return (uint32_t)(s[0] & 0x1F) << 6 | (s[1] & 0x3F);
    if (s[0] < 0xF0) return (uint32_t)(s[0] & 0x0F) << 12 | (uint32_t)(s[1] & 0x3F) << 6 | (s[2] & 0x3F);
    return (uint32_t)(s[0] & 0x07) << 18 | (uint32_t)(s[1] & 0x3F) << 12 | (uint32_t)(s[2] & 0x3F) << 6 | (s[3] & 0x3F);
}

/* Wider than Unicode's White_Space on purpose (format characters too): such a cell edge is left to Python. */
static int spacelike(uint32_t cp) {
    return cp == 0x85 || cp == 0xA0 || cp == 0x1680 || cp == 0x180E || (cp >= 0x2000 && cp <= 0x200F)
        || (cp >= 0x2028 && cp <= 0x202F) || (cp >= 0x205F && cp <= 0x206F) || cp == 0x3000 || cp == 0xFEFF;
}

/* Strip ASCII spaces; 0 if a non-ASCII space-like character is at an edge (Python strips those too). */
static int strip(Cell *c) {
    while (c->n && c->p[0] == ' ') c->p++, c->n--;
    while (c->n && c->p[c->n - 1] == ' ') c->n--;
    if (!c->n) return 1;
    const unsigned char *s = (const unsigned char *)c->p;
    if (s[0] >= 0x80 && spacelike(code_point(s))) return 0;
    Py_ssize_t last = c->n - 1;
    while (last > 0 && (s[last] & 0xC0) == 0x80) last--;
    if (s[last] >= 0x80 && spacelike(code_point(s + last))) return 0;
    return 1;
}

/* ---------------------------------------------------------------- lookup tables */

/* An exact-match table of UTF-8 keys, built from a Python dict or set: the per-row lookups (sex, status,
 * school, ID type) without making a Python string a cell.  Keys and text values point into the Python
 * strings, which `keep` holds. */
typedef struct {
    const char *key;
    Py_ssize_t len;
    int64_t number;     /* an int value (school id) */
    const char *text;   /* a str value (stored sex or status) */
    Py_ssize_t text_len;
} Entry;

typedef struct {
    Entry *slots;
    size_t mask;
    PyObject *keep;
} Table;

static uint64_t fnv1a(const char *p, Py_ssize_t n) {
    uint64_t h = 1469598103934665603ULL;
    for (Py_ssize_t i = 0; i < n; i++) h = (h ^ (unsigned char)p[i]) * 1099511628211ULL;
    return h;
}

static void table_free(Table *t) {
    PyMem_Free(t->slots);
    t->slots = NULL;
    Py_CLEAR(t->keep);
}

/* From a dict (str -> int or str) or, with values NULL, any iterable of str (each maps to 1). */
static int table_build(Table *t, PyObject *source) {
    table_free(t);
    PyObject *keep = PyDict_Check(source) ? PyDict_Copy(source) : PySequence_List(source);
    if (!keep) return -1;
    t->keep = keep;
    Py_ssize_t count = PyDict_Check(keep) ? PyDict_GET_SIZE(keep) : PyList_GET_SIZE(keep);
    size_t size = 8;
    while (size < (size_t)count * 2) size *= 2;
    t->slots = PyMem_Calloc(size, sizeof(Entry));
    if (!t->slots) {
        PyErr_NoMemory();
        return -1;
    }
    t->mask = size - 1;
    Py_ssize_t pos = 0;
    for (Py_ssize_t i = 0; i < count; i++) {
        PyObject *key, *value = NULL;
        if (PyDict_Check(keep)) {
            if (!PyDict_Next(keep, &pos, &key, &value)) break;
        } else {
            key = PyList_GET_ITEM(keep, i);
        }
        Entry e = {0};
        e.key = PyUnicode_AsUTF8AndSize(key, &e.len);
        if (!e.key) return -1;
        if (!value) {
            e.number = 1;
        } else if (PyUnicode_Check(value)) {
            e.text = PyUnicode_AsUTF8AndSize(value, &e.text_len);
            if (!e.text) return -1;
        } else {
            e.number = PyLong_AsLongLong(value);
            if (e.number == -1 && PyErr_Occurred()) return -1;
        }
        size_t slot = fnv1a(e.key, e.len) & t->mask;
        while (t->slots[slot].key && !(t->slots[slot].len == e.len && !memcmp(t->slots[slot].key, e.key, (size_t)e.len)))
            slot = (slot + 1) & t->mask;
        t->slots[slot] = e;
    }
    return 0;
}

static const Entry *table_get(const Table *t, const char *p, Py_ssize_t n) {
    size_t slot = fnv1a(p, n) & t->mask;
    for (;;) {
        const Entry *e = &t->slots[slot];
        if (!e->key) return NULL;
        if (e->len == n && !memcmp(e->key, p, (size_t)n)) return e;
        slot = (slot + 1) & t->mask;
    }
}

/* ---------------------------------------------------------------- dates and ID numbers */

static int days_in_month(int y, int m) {
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0)) return 29;
    return days[m - 1];
}

/* YYYYMMDD digits (8 bytes at p) as y*10000+m*100+d, or -1 if they are no date. */
static int ymd(const char *p) {
    if (!all_digits(p, 8)) return -1;
    int y = (p[0] - '0') * 1000 + (p[1] - '0') * 100 + (p[2] - '0') * 10 + (p[3] - '0');
    int m = (p[4] - '0') * 10 + (p[5] - '0');
    int d = (p[6] - '0') * 10 + (p[7] - '0');
    if (m < 1 || m > 12 || d < 1 || d > days_in_month(y, m)) return -1;
    return y * 10000 + m * 100 + d;
}

/* An upper-cased 18-character citizen ID number (or G/J body) as parse_id_number accepts it, born
 * 1900-01-01 .. today: its birth date (y*10000+m*100+d), else -1. */
static int id_born(const char *p, int today) {
    static const int weights[17] = {7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2};
    static const char check[] = "10X98765432";
    if (p[0] < '1' || p[0] > '9' || !all_digits(p, 17)) return -1;
    if (!((p[17] >= '0' && p[17] <= '9') || p[17] == 'X')) return -1;
    int sum = 0;
    for (int i = 0; i < 17; i++) sum += (p[i] - '0') * weights[i];
    if (check[sum % 11] != p[17]) return -1;
    int born = ymd(p + 6);
    if (born < 19000101 || born > today) return -1;
    return born;
}

/* ---------------------------------------------------------------- the codec */

typedef struct {
    PyObject_HEAD
    int layout[NFIELDS];
    int width;                 /* cells a line needs: max(layout) + 1 */
    Py_ssize_t limits[NFIELDS];   /* longest value in characters, or -1 */
    int today;                 /* y*10000+m*100+d */
    int64_t import_id;
    Table schools;             /* school code -> school id */
    Table sexes;               /* alias -> stored value */
    Table statuses;            /* alias -> stored value */
    Table citizen;             /* the citizen-ID type aliases */
    PyObject *citizen_id;      /* bytes: the stored citizen-ID type */
    int ready;                 /* __init__ completed */
#if HAVE_AESNI
    Cmac keys;
    Eax seal;
#endif
} Codec;

static void codec_dealloc(Codec *self) {
    table_free(&self->schools);
    table_free(&self->sexes);
    table_free(&self->statuses);
    table_free(&self->citizen);
    Py_XDECREF(self->citizen_id);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static int available(void) {
#if HAVE_AESNI
    __builtin_cpu_init();
    return __builtin_cpu_supports("aes") && __builtin_cpu_supports("sse2");
#else
    return 0;
#endif
}

static int codec_init(Codec *self, PyObject *args, PyObject *kwargs) {
    static char *kw[] = {"layout", "limits", "today", "import_id", "schools", "sexes", "statuses", "citizen",
                         "citizen_id", "registry_key", "seal_key", NULL};
    PyObject *layout, *limits, *schools, *sexes, *statuses, *citizen;
    const char *citizen_id;
    Py_ssize_t citizen_id_len;
    int today;
    long long import_id;
    Py_buffer registry_key, seal_key;
    self->ready = 0;
    if (!available()) {
        PyErr_SetString(PyExc_RuntimeError, "this CPU has no AES instructions");
        return -1;
    }
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "OOiLO!O!O!Os#y*y*", kw, &layout, &limits, &today, &import_id,
                                     &PyDict_Type, &schools, &PyDict_Type, &sexes, &PyDict_Type, &statuses,
                                     &citizen, &citizen_id, &citizen_id_len, &registry_key, &seal_key))
        return -1;
    int ok = 0;
    PyObject *lay = PySequence_Fast(layout, "layout must be a sequence");
    PyObject *lim = lay ? PySequence_Fast(limits, "limits must be a sequence") : NULL;
    if (!lim) goto done;
    if (PySequence_Fast_GET_SIZE(lay) != NFIELDS || PySequence_Fast_GET_SIZE(lim) != NFIELDS) {
        PyErr_SetString(PyExc_ValueError, "layout and limits need one entry a field");
        goto done;
    }
    if (registry_key.len != 32 || seal_key.len != 32) {
        PyErr_SetString(PyExc_ValueError, "keys must be 32 bytes");
        goto done;
    }
    self->width = 0;
    for (int i = 0; i < NFIELDS; i++) {
        long index = PyLong_AsLong(PySequence_Fast_GET_ITEM(lay, i));
        Py_ssize_t limit = PyLong_AsSsize_t(PySequence_Fast_GET_ITEM(lim, i));
        if (PyErr_Occurred()) goto done;
        if (index < -1 || index > 10000) {
            PyErr_SetString(PyExc_ValueError, "a column index out of range");
            goto done;
        }
        self->layout[i] = (int)index;
        self->limits[i] = limit;
        if (index + 1 > self->width) self->width = (int)index + 1;
    }
    self->today = today;
    self->import_id = import_id;
    if (table_build(&self->citizen, citizen) < 0 || table_build(&self->schools, schools) < 0
        || table_build(&self->sexes, sexes) < 0 || table_build(&self->statuses, statuses) < 0)
        goto done;
    PyObject *cid = PyBytes_FromStringAndSize(citizen_id, citizen_id_len);
    if (!cid) goto done;
    Py_XSETREF(self->citizen_id, cid);
#if HAVE_AESNI
    cmac_setup(&self->keys, registry_key.buf);
    eax_setup(&self->seal, seal_key.buf);
#endif
    ok = self->ready = 1;
done:
    Py_XDECREF(lay);
    Py_XDECREF(lim);
    PyBuffer_Release(&registry_key);
    PyBuffer_Release(&seal_key);
    return ok ? 0 : -1;
}

static int within(const Codec *self, int field, Cell c) {
    Py_ssize_t limit = self->limits[field];
    return limit < 0 || c.n <= limit || chars(c) <= limit;  /* never more characters than bytes */
}

#if HAVE_AESNI
typedef struct {
    int64_t school_id;
    const char *sex, *status;
    Py_ssize_t sex_len, status_len;
    int citizen_type;   /* the ID type is one of the citizen-ID aliases */
    int born;
    char reg[19];
    char id[40];
    Py_ssize_t id_len;
} Row;

/* 1: the row is valid in the common shape (row filled in); 0: leave it to Python; -1: a Python error. */
static int check(const Codec *self, Cell *cells, Row *row) {
    Cell name = cells[F_NAME], reg = cells[F_REG], id = cells[F_ID], birth = cells[F_BIRTH];
    if (!name.n || reg.n != 19 || id.n > 40) return 0;
    for (int i = 0; i < 19; i++) {
        if (!is_alnum(reg.p[i])) return 0;
        row->reg[i] = upper(reg.p[i]);
    }
    for (Py_ssize_t i = 0; i < id.n; i++) {
        if (!is_alnum(id.p[i])) return 0;
        row->id[i] = upper(id.p[i]);
    }
    row->id_len = id.n;
    for (int f = 0; f < NFIELDS; f++)
        if (f != F_ID && !within(self, f, cells[f])) return 0;
    Cell phone = cells[F_PHONE];
    if (phone.n > 20) return 0;  /* the sealed text's buffer holds no more (LIMITS says 20 too) */
    for (Py_ssize_t i = 0; i < phone.n; i++)
        if (!((phone.p[i] >= '0' && phone.p[i] <= '9') || phone.p[i] == '-')) return 0;
    /* The birth date: exactly YYYY-MM-DD. */
    if (birth.n != 10 || birth.p[4] != '-' || birth.p[7] != '-') return 0;
    char digits[8] = {birth.p[0], birth.p[1], birth.p[2], birth.p[3], birth.p[5], birth.p[6], birth.p[8], birth.p[9]};
    row->born = ymd(digits);
    if (row->born < 0) return 0;
    row->citizen_type = table_get(&self->citizen, cells[F_ID_TYPE].p, cells[F_ID_TYPE].n) != NULL;
    int citizen = row->citizen_type && id.n;
    int id_date = -1;
    if (citizen) {
        if (id.n != 18) return 0;
        id_date = id_born(row->id, self->today);
        if (id_date < 0 || id_date != row->born) return 0;
    }
    const char *body = row->reg + 1;
    int body_date;
    switch (row->reg[0]) {
    case 'G':
        if (!citizen || memcmp(body, row->id, 18) != 0) return 0;
        body_date = id_date;
        break;
    case 'J':
        body_date = id_born(body, self->today);
        break;
    case 'L':
        if (!all_digits(body, 18)) return 0;
        body_date = ymd(body + 6);
        if (body_date < 19000101 || body_date > self->today) return 0;
        break;
    default:
        return 0;
    }
    if (body_date < 0 || body_date != row->born) return 0;
    const Entry *sex = table_get(&self->sexes, cells[F_SEX].p, cells[F_SEX].n);
    if (!sex) return 0;
    row->sex = sex->text;
    row->sex_len = sex->text_len;
    if (citizen) {
        int odd = (row->id[16] - '0') % 2;
        if (!cell_eq((Cell){row->sex, row->sex_len}, odd ? "male" : "female", odd ? 4 : 6)) return 0;
    }
    const Entry *status = table_get(&self->statuses, cells[F_STATUS].p, cells[F_STATUS].n);
    if (!status) return 0;
    row->status = status->text;
    row->status_len = status->text_len;
    if (!cells[F_SCHOOL].n) return 0;  /* an empty code is stored as NULL by the Python path */
    const Entry *school = table_get(&self->schools, cells[F_SCHOOL].p, cells[F_SCHOOL].n);
    if (!school) return 0;
    row->school_id = school->number;
    return 1;
}

static void put_text_or_null(Buf *b, Cell c) {
    if (c.n) put(b, c.p, (size_t)c.n);
    else put_null(b);
}

static void put_date(Buf *b, int d) {
    int y = d / 10000, m = d / 100 % 100, day = d % 100;
    char text[10] = {(char)('0' + y / 1000), (char)('0' + y / 100 % 10), (char)('0' + y / 10 % 10),
                     (char)('0' + y % 10), '-', (char)('0' + m / 10), (char)('0' + m % 10), '-',
                     (char)('0' + day / 10), (char)('0' + day % 10)};
    put(b, text, 10);
}

/* Writes one accepted row as COPY text (batch.COLUMNS). */
static int write_row(const Codec *self, Buf *b, Py_ssize_t line_no, Cell *cells, const Row *row,
                     const uint8_t nonce[NONCE]) {
    Py_ssize_t idl = row->id_len;
    Cell phone = cells[F_PHONE];
    /* The sealed text "id|registry_no|phone"; the registry number left out where it is "G" + the ID number. */
    uint8_t plain[19 + 40 + 20 + 2];
    size_t plen = 0;
    memcpy(plain, row->id, (size_t)idl);
    plen += (size_t)idl;
    plain[plen++] = '|';
    if (!(row->reg[0] == 'G' && idl == 18 && memcmp(row->reg + 1, row->id, 18) == 0)) {
        memcpy(plain + plen, row->reg, 19);
        plen += 19;
    }
    plain[plen++] = '|';
    memcpy(plain + plen, phone.p, (size_t)phone.n);
    plen += (size_t)phone.n;
    uint8_t token[NONCE + sizeof plain + TAG];
    eax_seal(&self->seal, nonce, plain, plen, token);

    size_t need = 512 + (size_t)(cells[F_NAME].n + cells[F_ETHNICITY].n + cells[F_SCHOOL].n + cells[F_GRADE].n
                                 + cells[F_CLASS].n + cells[F_GUARDIAN].n + cells[F_ID_TYPE].n)
                  + PyBytes_GET_SIZE(self->citizen_id) + (size_t)(row->sex_len + row->status_len);
    if (buf_reserve(b, need) < 0) return -1;
    put_int(b, self->import_id);
    put_tab(b);
    put_int(b, line_no);
    put_tab(b);
    put_int(b, registry_key(&self->keys, (const uint8_t *)row->reg, 19));
    put_tab(b);
    put(b, row->reg, 7);
    put_stars(b, 8);
    put(b, row->reg + 15, 4);
    put_tab(b);
    if (row->citizen_type) put(b, PyBytes_AS_STRING(self->citizen_id), (size_t)PyBytes_GET_SIZE(self->citizen_id));
    else put(b, cells[F_ID_TYPE].p, (size_t)cells[F_ID_TYPE].n);
    put_tab(b);
    if (idl) {
        put_int(b, registry_key(&self->keys, (const uint8_t *)row->id, (size_t)idl));
        put_tab(b);
        if (idl <= 10) {
            put_stars(b, (size_t)idl);
        } else {  /* first 6, last 4 */
            put(b, row->id, 6);
            put_stars(b, (size_t)idl - 10);
            put(b, row->id + idl - 4, 4);
        }
    } else {
        put_null(b);
        put_tab(b);
        put_null(b);
    }
    put_tab(b);
    put_c(b, '~');
    put_base64(b, token, NONCE + plen + TAG);
    put_tab(b);
    put(b, cells[F_NAME].p, (size_t)cells[F_NAME].n);
    put_tab(b);
    put(b, row->sex, (size_t)row->sex_len);
    put_tab(b);
    put_date(b, row->born);
    put_tab(b);
    put_text_or_null(b, cells[F_ETHNICITY]);
    put_tab(b);
    put(b, cells[F_SCHOOL].p, (size_t)cells[F_SCHOOL].n);
    put_tab(b);
    put_int(b, row->school_id);
    put_tab(b);
    put_text_or_null(b, cells[F_GRADE]);
    put_tab(b);
    put_text_or_null(b, cells[F_CLASS]);
    put_tab(b);
    put(b, row->status, (size_t)row->status_len);
    put_tab(b);
    put_text_or_null(b, cells[F_GUARDIAN]);
    put_tab(b);
    Py_ssize_t n = phone.n;
    if (!n) {
        put_null(b);
    } else if (n == 11 && all_digits(phone.p, 11)) {
        put(b, phone.p, 3);
        put_stars(b, 4);
        put(b, phone.p + 7, 4);
    } else if (n > 4) {  /* identity.mask_phone: value[:-8 if len > 8 else 1] + "****" + value[-4:] */
        put(b, phone.p, n > 8 ? (size_t)(n - 8) : 1);
        put_stars(b, 4);
        put(b, phone.p + n - 4, 4);
    } else {
        put_stars(b, (size_t)n);
    }
    put_c(b, '\n');
    return 0;
}
#endif

/* A line of nothing but ASCII spaces and commas (and tabs): skipped, not counted, as in batch._fast. */
static int blank(const char *p, Py_ssize_t n) {
    for (Py_ssize_t i = 0; i < n; i++)
        if (p[i] != ' ' && p[i] != ',' && p[i] != '\t') return 0;
    return 1;
}

/* Bytes that make a line Python's: controls (NUL, the separators Python strips, tabs to escape) and backslash. */
static int awkward(const char *p, Py_ssize_t n) {
    for (Py_ssize_t i = 0; i < n; i++)
        if ((unsigned char)p[i] < 0x20 || p[i] == '\\' || p[i] == 0x7f) return 1;
    return 0;
}

static PyObject *codec_encode(Codec *self, PyObject *args) {
#if !HAVE_AESNI
    PyErr_SetString(PyExc_RuntimeError, "built without AES instructions");
    return NULL;
#else
    Py_buffer data;
    Py_ssize_t first_line;
    if (!self->ready) {
        PyErr_SetString(PyExc_RuntimeError, "the codec was not initialised");
        return NULL;
    }
    if (!PyArg_ParseTuple(args, "y*n", &data, &first_line)) return NULL;
    const char *text = data.buf;
    Py_ssize_t size = data.len;
    PyObject *slow = NULL, *result = NULL;
    Buf out = {0};
    uint8_t *nonces = NULL;
    int awkward_any;
    if (!scan_chunk((const unsigned char *)text, size, &awkward_any)) {
        PyErr_SetString(PyExc_UnicodeError, "the chunk is not valid UTF-8");
        goto done;
    }
    /* One nonce a line at most, from the kernel's CSPRNG in one call (os.urandom does the same). */
    Py_ssize_t lines = 1;
    for (const char *p = text; (p = memchr(p, '\n', (size_t)(text + size - p))) != NULL; p++) lines++;
    nonces = PyMem_Malloc((size_t)lines * NONCE);
    if (!nonces) {
        PyErr_NoMemory();
        goto done;
    }
    for (size_t got = 0, want = (size_t)lines * NONCE; got < want;) {
        ssize_t n = getrandom(nonces + got, want - got, 0);
        if (n < 0) {
            if (errno == EINTR) continue;
            PyErr_SetFromErrno(PyExc_OSError);
            goto done;
        }
        got += (size_t)n;
    }
    slow = PyList_New(0);
    if (!slow || buf_reserve(&out, (size_t)size + (size_t)lines * 160) < 0) goto done;
    Py_ssize_t accepted = 0, line_no = first_line, used = 0;
    Cell cells[NFIELDS];
    Cell *split = PyMem_Malloc(sizeof(Cell) * (size_t)(self->width + 1));
    if (!split) {
        PyErr_NoMemory();
        goto done;
    }
    for (Py_ssize_t start = 0; start < size || start == 0; line_no++) {
        const char *line = text + start;
        const char *nl = memchr(line, '\n', (size_t)(size - start));
        Py_ssize_t len = nl ? nl - line : size - start;
        Py_ssize_t next = start + len + 1;
        if (len && line[len - 1] == '\r') len--;
        int verdict = 0;
        if (blank(line, len)) {
            if (!nl) break;
            start = next;
            continue;
        }
        Row row;
        if (!awkward_any || !awkward(line, len)) {
            /* The first `width` cells; fewer make the row Python's. */
            int count = 0;
            const char *p = line, *end = line + len;
            while (count < self->width) {
                const char *comma = memchr(p, ',', (size_t)(end - p));
                split[count].p = p;
                split[count].n = (comma ? comma : end) - p;
                count++;
                if (!comma) break;
                p = comma + 1;
            }
            if (count == self->width) {
                verdict = 1;
                for (int f = 0; f < NFIELDS; f++) {
                    int index = self->layout[f];
                    cells[f] = index < 0 ? (Cell){"", 0} : split[index];
                    if (f != F_SCHOOL_NAME && !strip(&cells[f])) verdict = 0;  /* the name is not stored */
                }
                if (verdict) verdict = check(self, cells, &row);
            }
        }
        if (verdict < 0) break;
        if (verdict) {
            if (write_row(self, &out, line_no, cells, &row, nonces + NONCE * used++) < 0) {
                verdict = -1;
                break;
            }
            accepted++;
        } else {
            PyObject *item = Py_BuildValue("(nN)", line_no, PyUnicode_DecodeUTF8(line, len, "strict"));
            if (!item || PyList_Append(slow, item) < 0) {
                Py_XDECREF(item);
                verdict = -1;
                break;
            }
            Py_DECREF(item);
        }
        if (!nl) break;
        start = next;
    }
    PyMem_Free(split);
    if (PyErr_Occurred()) goto done;
    result = Py_BuildValue("(y#On)", out.data ? out.data : "", (Py_ssize_t)out.len, slow, accepted);
done:
    Py_XDECREF(slow);
    PyMem_Free(out.data);
    PyMem_Free(nonces);
    PyBuffer_Release(&data);
    return result;
#endif
}

static PyMethodDef codec_methods[] = {
    {"encode", (PyCFunction)codec_encode, METH_VARARGS,
     "encode(chunk: bytes, first_line: int) -> (COPY text of the accepted rows, [(line, text) of the others], "
     "accepted count).  The chunk: whole plain lines of UTF-8 (no quotes, no bare CR)."},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject CodecType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "caseflow.registry._codec.Codec",
    .tp_basicsize = sizeof(Codec),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "The per-row fast path of one import: its columns, schools, day, import and keys.",
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)codec_init,
    .tp_dealloc = (destructor)codec_dealloc,
    .tp_methods = codec_methods,
};

static PyObject *module_available(PyObject *module, PyObject *unused) {
    (void)module;
    (void)unused;
    return PyBool_FromLong(available());
}

static PyMethodDef module_methods[] = {
    {"available", module_available, METH_NOARGS, "Whether this CPU runs the codec (AES instructions)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "caseflow.registry._codec",
    .m_doc = "The registry import's per-row fast path.",
    .m_size = -1,
    .m_methods = module_methods,
};

PyMODINIT_FUNC PyInit__codec(void) {
    if (PyType_Ready(&CodecType) < 0) return NULL;
    PyObject *m = PyModule_Create(&module);
    if (!m) return NULL;
    Py_INCREF(&CodecType);
    if (PyModule_AddObject(m, "Codec", (PyObject *)&CodecType) < 0) {
        Py_DECREF(&CodecType);
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
