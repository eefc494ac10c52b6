/* The common case of FASTQ checking in one pass of C: four-line records, '\n' line ends.
 *
 * scan(buffer, collect_names) -> (consumed, records, bases, names, stopped)
 *   Walks the complete four-line records at the start of `buffer` and stops at the first one that
 *   is not plainly valid, or at the first incomplete one. `consumed` is the byte length of the
 *   records accepted; `names` (when asked for) their read names, each '\n'-terminated, as
 *   seqstore/genomics/fastq.py normalizes them (first word of the header, then a trailing "/1",
 *   then a trailing "/2" removed); `stopped` is True when a complete record was refused.
 *
 * A record is accepted only if fastq.py's own check accepts it unchanged: a header starting
 * with '@', a sequence of IUPAC codes (either case), '.' or '-', a separator starting with '+',
 * a quality line of the same length in '!'..'~', and no '\r' anywhere. Everything else (Windows
 * line ends, multi-line records, every kind of error) is left to fastq.py, which takes over
 * from `consumed` and names the problem: this file decides nothing a person reads.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <string.h>

static unsigned char sequence_ok[256];
static unsigned char blank[256]; /* what bytes.split() splits on */

static void init_tables(void) {
    const char *codes = "ACGTURYSWKMBDHVNacgturyswkmbdhvn.-";
    for (const char *c = codes; *c; c++) sequence_ok[(unsigned char)*c] = 1;
    const char *space = " \t\n\r\x0b\x0c";
    for (const char *c = space; *c; c++) blank[(unsigned char)*c] = 1;
}

static int all_in(const unsigned char *table, const unsigned char *text, Py_ssize_t length) {
    unsigned char bad = 0;
    for (Py_ssize_t i = 0; i < length; i++) bad |= (unsigned char)!table[text[i]];
    return !bad;
}

/* The loops below have no table lookups, so the compiler turns them into vector instructions
 * (16 or 32 bytes a step): the sequence and quality lines are most of a FASTQ's bytes. */

static int sequence_is_valid(const unsigned char *text, Py_ssize_t length) {
    unsigned char other = 0;
    for (Py_ssize_t i = 0; i < length; i++) {
        unsigned char lower = text[i] | 0x20; /* only 'A'/'a' become 'a', and so on */
        other |= (unsigned char)((lower != 'a') & (lower != 'c') & (lower != 'g') & (lower != 't') & (lower != 'n'));
    }
    /* Anything but ACGTN in either case (rare: other IUPAC codes, '.', '-') takes the table. */
    return !other || all_in(sequence_ok, text, length);
}

static int quality_is_valid(const unsigned char *text, Py_ssize_t length) {
    unsigned char bad = 0;
    for (Py_ssize_t i = 0; i < length; i++) bad |= (unsigned char)((unsigned char)(text[i] - 33) > 93);
    return !bad;
}

typedef struct {
    char *data;
    Py_ssize_t size, capacity;
} Names;

static int names_add(Names *names, const unsigned char *header, Py_ssize_t length) {
    Py_ssize_t start = 0;
    while (start < length && blank[header[start]]) start++; /* split() skips leading blanks */
    Py_ssize_t end = start;
    while (end < length && !blank[header[end]]) end++;
    const unsigned char *name = header + start;
    Py_ssize_t size = end - start;
    if (size >= 2 && name[size - 2] == '/' && name[size - 1] == '1') size -= 2;
    if (size >= 2 && name[size - 2] == '/' && name[size - 1] == '2') size -= 2;
    if (names->size + size + 1 > names->capacity) {
        Py_ssize_t capacity = names->capacity ? names->capacity * 2 : 1 << 16;
        while (capacity < names->size + size + 1) capacity *= 2;
        char *grown = PyMem_RawRealloc(names->data, (size_t)capacity);
        if (grown == NULL) return -1;
        names->data = grown;
        names->capacity = capacity;
    }
    memcpy(names->data + names->size, name, (size_t)size);
    names->size += size;
    names->data[names->size++] = '\n';
    return 0;
}

static PyObject *scan(PyObject *module, PyObject *args) {
    Py_buffer view;
    int collect_names;
    if (!PyArg_ParseTuple(args, "y*p", &view, &collect_names)) return NULL;
    const unsigned char *data = view.buf;
    Py_ssize_t size = view.len, position = 0;
    unsigned long long records = 0, bases = 0;
    int stopped = 0, failed = 0;
    Names names = {NULL, 0, 0};

    Py_BEGIN_ALLOW_THREADS
    for (;;) {
        const unsigned char *line[4];
        Py_ssize_t length[4];
        Py_ssize_t at = position;
        int complete = 1;
        for (int i = 0; i < 4; i++) {
            const unsigned char *end = memchr(data + at, '\n', (size_t)(size - at));
            if (end == NULL) {
                complete = 0;
                break;
            }
            line[i] = data + at;
            length[i] = end - (data + at);
            at += length[i] + 1;
        }
        if (!complete) break;
        if (length[0] == 0 || line[0][0] != '@' || memchr(line[0], '\r', (size_t)length[0]) != NULL ||
            length[2] == 0 || line[2][0] != '+' || memchr(line[2], '\r', (size_t)length[2]) != NULL ||
            length[1] != length[3] || !sequence_is_valid(line[1], length[1]) ||
            !quality_is_valid(line[3], length[3])) {
            stopped = 1;
            break;
        }
        if (collect_names && names_add(&names, line[0], length[0]) < 0) {
            failed = 1;
            break;
        }
        records++;
        bases += (unsigned long long)length[1];
        position = at;
    }
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&view);
    if (failed) {
        PyMem_RawFree(names.data);
        return PyErr_NoMemory();
    }
    PyObject *names_bytes;
    if (collect_names) {
        names_bytes = PyBytes_FromStringAndSize(names.data != NULL ? names.data : "", names.size);
    } else {
        names_bytes = Py_NewRef(Py_None);
    }
    PyMem_RawFree(names.data);
    if (names_bytes == NULL) return NULL;
    return Py_BuildValue("nKKNO", position, records, bases, names_bytes, stopped ? Py_True : Py_False);
}

static PyMethodDef methods[] = {
    {"scan", scan, METH_VARARGS, "scan(buffer, collect_names) -> (consumed, records, bases, names, stopped)"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef definition = {
    PyModuleDef_HEAD_INIT, "_fastqscan", "The common case of FASTQ checking in C", -1, methods,
};

PyMODINIT_FUNC PyInit__fastqscan(void) {
    init_tables();
    return PyModule_Create(&definition);
}
