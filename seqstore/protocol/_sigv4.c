/* The arithmetic of SigV4 verification in one call of C: canonical request, its SHA-256, the
 * string to sign and its HMAC-SHA256 with the day's signing key (seqstore/protocol/auth.py).
 *
 * pads(signing_key) -> bytes
 *   The two SHA-256 states of HMAC (RFC 2104) that have absorbed the key xor ipad and xor opad,
 *   as opaque bytes: computed once per key and day, copied for every request.
 *
 * signature(method, canonical_path, raw_query, headers, names, names_joined, body, stamp, scope,
 *           pads) -> str | None
 *   The hex signature a request must carry. Builds exactly the canonical request auth.py's
 *   _canonical_request builds (the raw query pairs sorted by name, then value; each signed
 *   header's value with its whitespace runs collapsed as str.split() splits them; the declared
 *   X-Amz-Content-SHA256 when it is signed, else the body's hash). Returns None when any text
 *   it would hash is not ASCII: auth.py then computes the same in Python, so the rules for
 *   other characters stay in one place.
 *
 * Python's own hashlib and hmac cost ~2 us a request in calls and objects here, and a signed
 * request's whole verification was the largest part of a cached read's time (bench/README.md).
 * SHA-256 comes from OpenSSL's libcrypto, which Python's hashlib uses too.
 */
#define PY_SSIZE_T_CLEAN
#define OPENSSL_SUPPRESS_DEPRECATED
#include <Python.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    SHA256_CTX inner, outer;
} Pads;

typedef struct {
    char *data;
    Py_ssize_t size, capacity;
    char local[2048];
} Buffer;

static int buffer_reserve(Buffer *buffer, Py_ssize_t extra) {
    if (buffer->size + extra <= buffer->capacity) return 0;
    Py_ssize_t capacity = (buffer->size + extra) * 2;
    char *data = PyMem_Malloc((size_t)capacity);
    if (data == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    memcpy(data, buffer->data, (size_t)buffer->size);
    if (buffer->data != buffer->local) PyMem_Free(buffer->data);
    buffer->data = data;
    buffer->capacity = capacity;
    return 0;
}

static int buffer_add(Buffer *buffer, const char *text, Py_ssize_t length) {
    if (buffer_reserve(buffer, length) < 0) return -1;
    memcpy(buffer->data + buffer->size, text, (size_t)length);
    buffer->size += length;
    return 0;
}

static int buffer_char(Buffer *buffer, char c) { return buffer_add(buffer, &c, 1); }

/* The text of an ASCII str, or NULL (no exception set) when `object` is not an ASCII str. */
static const char *ascii(PyObject *object, Py_ssize_t *length) {
    if (!PyUnicode_Check(object) || !PyUnicode_IS_ASCII(object)) return NULL;
    *length = PyUnicode_GET_LENGTH(object);
    return (const char *)PyUnicode_DATA(object);
}

/* What str.split() with no argument splits on, within ASCII. */
static int is_space(unsigned char c) { return (c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x20); }

typedef struct {
    const char *name, *value;
    Py_ssize_t name_length, value_length;
} Pair;

static int compare_text(const char *a, Py_ssize_t a_length, const char *b, Py_ssize_t b_length) {
    int order = memcmp(a, b, (size_t)(a_length < b_length ? a_length : b_length));
    if (order != 0) return order;
    return (a_length > b_length) - (a_length < b_length);
}

static int compare_pairs(const void *left, const void *right) {
    const Pair *a = left, *b = right;
    int order = compare_text(a->name, a->name_length, b->name, b->name_length);
    return order != 0 ? order : compare_text(a->value, a->value_length, b->value, b->value_length);
}

/* The query's name=value pairs (split on '&', each on its first '='; empty pairs kept), sorted. */
static int add_query(Buffer *buffer, const char *query, Py_ssize_t length) {
    if (length == 0) return 0;
    Py_ssize_t count = 1;
    for (Py_ssize_t i = 0; i < length; i++) count += query[i] == '&';
    Pair local[16];
    Pair *pairs = count <= 16 ? local : PyMem_Malloc(sizeof(Pair) * (size_t)count);
    if (pairs == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    Py_ssize_t start = 0, n = 0;
    for (Py_ssize_t i = 0; i <= length; i++) {
        if (i < length && query[i] != '&') continue;
        const char *pair = query + start;
        Py_ssize_t pair_length = i - start;
        const char *equals = memchr(pair, '=', (size_t)pair_length);
        pairs[n].name = pair;
        pairs[n].name_length = equals ? equals - pair : pair_length;
        pairs[n].value = equals ? equals + 1 : pair + pair_length;
        pairs[n].value_length = equals ? pair_length - (equals + 1 - pair) : 0;
        n++;
        start = i + 1;
    }
    qsort(pairs, (size_t)n, sizeof(Pair), compare_pairs);
    int failed = 0;
    for (Py_ssize_t i = 0; i < n && !failed; i++) {
        failed = (i > 0 && buffer_char(buffer, '&') < 0) || buffer_add(buffer, pairs[i].name, pairs[i].name_length) < 0 ||
                 buffer_char(buffer, '=') < 0 || buffer_add(buffer, pairs[i].value, pairs[i].value_length) < 0;
    }
    if (pairs != local) PyMem_Free(pairs);
    return failed ? -1 : 0;
}

/* A header value as ' '.join(value.split()). */
static int add_header_value(Buffer *buffer, const char *value, Py_ssize_t length) {
    Py_ssize_t i = 0;
    int first = 1;
    while (i < length) {
        while (i < length && is_space((unsigned char)value[i])) i++;
        Py_ssize_t start = i;
        while (i < length && !is_space((unsigned char)value[i])) i++;
        if (i > start) {
            if ((!first && buffer_char(buffer, ' ') < 0) || buffer_add(buffer, value + start, i - start) < 0) return -1;
            first = 0;
        }
    }
    return 0;
}

static void to_hex(const unsigned char *digest, char *hex) {
    static const char digits[] = "0123456789abcdef";
    for (int i = 0; i < SHA256_DIGEST_LENGTH; i++) {
        hex[2 * i] = digits[digest[i] >> 4];
        hex[2 * i + 1] = digits[digest[i] & 15];
    }
}

static PyObject *pads(PyObject *self, PyObject *args) {
    Py_buffer key;
    if (!PyArg_ParseTuple(args, "y*", &key)) return NULL;
    if (key.len > SHA256_CBLOCK) {
        PyBuffer_Release(&key);
        PyErr_SetString(PyExc_ValueError, "an HMAC-SHA256 key of more than 64 bytes must be hashed first");
        return NULL;
    }
    unsigned char inner[SHA256_CBLOCK], outer[SHA256_CBLOCK];
    for (Py_ssize_t i = 0; i < SHA256_CBLOCK; i++) {
        unsigned char k = i < key.len ? ((const unsigned char *)key.buf)[i] : 0;
        inner[i] = k ^ 0x36;
        outer[i] = k ^ 0x5c;
    }
    PyBuffer_Release(&key);
    Pads result;
    SHA256_Init(&result.inner);
    SHA256_Update(&result.inner, inner, sizeof inner);
    SHA256_Init(&result.outer);
    SHA256_Update(&result.outer, outer, sizeof outer);
    OPENSSL_cleanse(inner, sizeof inner);
    OPENSSL_cleanse(outer, sizeof outer);
    return PyBytes_FromStringAndSize((const char *)&result, sizeof result);
}

/* SHA256() itself goes through OpenSSL 3's EVP fetching, several times the cost of the hash of a
 * few hundred bytes; the low-level calls do not. */
static void sha256(const void *data, size_t length, unsigned char *digest) {
    SHA256_CTX context;
    SHA256_Init(&context);
    SHA256_Update(&context, data, length);
    SHA256_Final(digest, &context);
}

static const char EMPTY_SHA256[] = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

static PyObject *build(Buffer *buffer, PyObject *const *args) {
    PyObject *method = args[0], *path = args[1], *query = args[2], *headers = args[3], *names = args[4],
             *names_joined = args[5], *body = args[6], *stamp = args[7], *scope = args[8], *pads_bytes = args[9];
    if (!PyDict_Check(headers) || !PyTuple_Check(names) || !PyBytes_Check(pads_bytes) ||
        PyBytes_GET_SIZE(pads_bytes) != (Py_ssize_t)sizeof(Pads) || (body != Py_None && !PyBytes_Check(body))) {
        PyErr_SetString(PyExc_TypeError, "signature(): arguments of the wrong types");
        return NULL;
    }
    Py_ssize_t length;
    const char *text;
    /* method \n path \n query \n */
    if ((text = ascii(method, &length)) == NULL) Py_RETURN_NONE;
    for (Py_ssize_t i = 0; i < length; i++) {
        char c = text[i];
        if (buffer_char(buffer, c >= 'a' && c <= 'z' ? (char)(c - 32) : c) < 0) return NULL;
    }
    if (buffer_char(buffer, '\n') < 0) return NULL;
    if ((text = ascii(path, &length)) == NULL) Py_RETURN_NONE;
    if (buffer_add(buffer, text, length) < 0 || buffer_char(buffer, '\n') < 0) return NULL;
    if ((text = ascii(query, &length)) == NULL) Py_RETURN_NONE;
    if (add_query(buffer, text, length) < 0 || buffer_char(buffer, '\n') < 0) return NULL;
    /* name:value\n for each signed header, then \n, the names joined, \n */
    const char *declared = NULL;
    Py_ssize_t declared_length = 0;
    int declares = 0;
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(names); i++) {
        PyObject *name = PyTuple_GET_ITEM(names, i);
        Py_ssize_t name_length;
        const char *name_text = ascii(name, &name_length);
        if (name_text == NULL) Py_RETURN_NONE;
        PyObject *value = PyDict_GetItemWithError(headers, name);  /* borrowed */
        if (value == NULL && PyErr_Occurred()) return NULL;
        const char *value_text = "";
        Py_ssize_t value_length = 0;
        if (value != NULL && (value_text = ascii(value, &value_length)) == NULL) Py_RETURN_NONE;
        if (name_length == 20 && memcmp(name_text, "x-amz-content-sha256", 20) == 0) {
            declares = 1;
            declared = value_text;
            declared_length = value_length;
        }
        if (buffer_add(buffer, name_text, name_length) < 0 || buffer_char(buffer, ':') < 0 ||
            add_header_value(buffer, value_text, value_length) < 0 || buffer_char(buffer, '\n') < 0)
            return NULL;
    }
    if ((text = ascii(names_joined, &length)) == NULL) Py_RETURN_NONE;
    if (buffer_char(buffer, '\n') < 0 || buffer_add(buffer, text, length) < 0 || buffer_char(buffer, '\n') < 0)
        return NULL;
    /* the payload's hash: the declared one where it is signed, else the body's */
    unsigned char digest[SHA256_DIGEST_LENGTH];
    char hex[2 * SHA256_DIGEST_LENGTH];
    if (declares) {
        if (buffer_add(buffer, declared, declared_length) < 0) return NULL;
    } else if (body != Py_None && PyBytes_GET_SIZE(body) > 0) {
        sha256(PyBytes_AS_STRING(body), (size_t)PyBytes_GET_SIZE(body), digest);
        to_hex(digest, hex);
        if (buffer_add(buffer, hex, sizeof hex) < 0) return NULL;
    } else if (buffer_add(buffer, EMPTY_SHA256, sizeof hex) < 0) {
        return NULL;
    }
    /* string to sign: AWS4-HMAC-SHA256 \n stamp \n scope \n hex(SHA-256(canonical request)) */
    sha256(buffer->data, (size_t)buffer->size, digest);
    to_hex(digest, hex);
    const char *stamp_text, *scope_text;
    Py_ssize_t stamp_length, scope_length;
    if ((stamp_text = ascii(stamp, &stamp_length)) == NULL || (scope_text = ascii(scope, &scope_length)) == NULL)
        Py_RETURN_NONE;
    const Pads *key = (const Pads *)PyBytes_AS_STRING(pads_bytes);
    SHA256_CTX context = key->inner;
    SHA256_Update(&context, "AWS4-HMAC-SHA256\n", 17);
    SHA256_Update(&context, stamp_text, (size_t)stamp_length);
    SHA256_Update(&context, "\n", 1);
    SHA256_Update(&context, scope_text, (size_t)scope_length);
    SHA256_Update(&context, "\n", 1);
    SHA256_Update(&context, hex, sizeof hex);
    SHA256_Final(digest, &context);
    context = key->outer;
    SHA256_Update(&context, digest, sizeof digest);
    SHA256_Final(digest, &context);
    to_hex(digest, hex);
    return PyUnicode_FromStringAndSize(hex, sizeof hex);
}

static PyObject *signature(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 10) {
        PyErr_SetString(PyExc_TypeError, "signature() takes 10 arguments");
        return NULL;
    }
    Buffer buffer;
    buffer.data = buffer.local;
    buffer.size = 0;
    buffer.capacity = sizeof buffer.local;
    PyObject *result = build(&buffer, args);
    if (buffer.data != buffer.local) PyMem_Free(buffer.data);
    return result;
}

static PyMethodDef methods[] = {
    {"pads", pads, METH_VARARGS, "pads(signing_key) -> bytes: the prepared HMAC-SHA256 states"},
    {"signature", (PyCFunction)(void (*)(void))signature, METH_FASTCALL,
     "signature(method, canonical_path, raw_query, headers, names, names_joined, body, stamp, scope, pads)"
     " -> hex str, or None where a text is not ASCII"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef definition = {
    PyModuleDef_HEAD_INIT, "_sigv4", "SigV4 signature arithmetic in C", -1, methods,
};

PyMODINIT_FUNC PyInit__sigv4(void) { return PyModule_Create(&definition); }
