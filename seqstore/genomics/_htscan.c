/* One pass over a BAM or CRAM for ingestion: the records as SAM text (what `samtools view FILE`
 * prints, for the ETag), the primary read and base counts, and a BAM's BAI, all from a single
 * decode (a CRAM's CRAI comes from its container headers: build_index).
 *
 * htslib is the one pysam ships: this module is compiled against pysam's htslib headers and
 * finds the functions in pysam's libchtslib at run time (load()), so it links against nothing
 * and never meets a second htslib. The record loop runs without the GIL; the Python side hashes
 * each returned chunk in another thread, so decoding and hashing share the two cores.
 *
 * Python API (see seqstore/genomics/native.py):
 *   load(library_path)  -> None            resolve the htslib functions; OSError if impossible
 *   Scanner(path, index_path or None, threads, unmapped_only, reference=None)
 *                        a BAM (indexed here when index_path is given) or a CRAM (decoded with
 *                        reference; its CRAI comes from build_index)
 *     .header            bytes, the SAM header text
 *     .read(min_size)    bytes of SAM text (whole records, >= min_size unless at the end); b"" at the end
 *     .finish()          writes the index (if any); call after read() returned b""
 *     .records, .reads, .bases   every record; primary ones; bases of primary ones
 *   build_index(path, index_path) -> int   sam_index_build's status, without the GIL
 *   ScanError(code, ...) codes: "open", "header", "read", "index", "mapped" (record, qname, contig, pos, flag)
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <dlfcn.h>
#include <stdint.h>
#include <string.h>

#include <htslib/bgzf.h>
#include <htslib/hts.h>
#include <htslib/sam.h>

#define FN(name) __typeof__(name) *name
static struct {
    int loaded;
    FN(hts_version);
    FN(hts_open);
    FN(hts_close);
    FN(hts_set_threads);
    FN(hts_set_fai_filename);
    FN(sam_index_build3);
    FN(sam_hdr_read);
    FN(sam_hdr_destroy);
    FN(sam_hdr_str);
    FN(sam_hdr_length);
    FN(sam_hdr_nref);
    FN(sam_hdr_tid2name);
    FN(bam_init1);
    FN(bam_destroy1);
    FN(sam_read1);
    FN(sam_format1);
    FN(bam_endpos);
    FN(hts_idx_init);
    FN(hts_idx_push);
    FN(hts_idx_finish);
    FN(hts_idx_save_as);
    FN(hts_idx_destroy);
} H;
#undef FN

static PyObject *ScanError;

#define SECONDARY_OR_SUPPLEMENTARY (BAM_FSECONDARY | BAM_FSUPPLEMENTARY)

static PyObject *load(PyObject *module, PyObject *arg) {
    const char *path = PyUnicode_AsUTF8(arg);
    if (path == NULL) return NULL;
    if (H.loaded) Py_RETURN_NONE;
    void *lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (lib == NULL) return PyErr_Format(PyExc_OSError, "cannot load htslib from %s: %s", path, dlerror());
#define RESOLVE(name)                                                                       \
    do {                                                                                    \
        *(void **)(&H.name) = dlsym(lib, #name);                                            \
        if (H.name == NULL) {                                                               \
            return PyErr_Format(PyExc_OSError, "%s does not export %s", path, #name);       \
        }                                                                                   \
    } while (0)
    RESOLVE(hts_version);
    RESOLVE(hts_open);
    RESOLVE(hts_close);
    RESOLVE(hts_set_threads);
    RESOLVE(hts_set_fai_filename);
    RESOLVE(sam_index_build3);
    RESOLVE(sam_hdr_read);
    RESOLVE(sam_hdr_destroy);
    RESOLVE(sam_hdr_str);
    RESOLVE(sam_hdr_length);
    RESOLVE(sam_hdr_nref);
    RESOLVE(sam_hdr_tid2name);
    RESOLVE(bam_init1);
    RESOLVE(bam_destroy1);
    RESOLVE(sam_read1);
    RESOLVE(sam_format1);
    RESOLVE(bam_endpos);
    RESOLVE(hts_idx_init);
    RESOLVE(hts_idx_push);
    RESOLVE(hts_idx_finish);
    RESOLVE(hts_idx_save_as);
    RESOLVE(hts_idx_destroy);
#undef RESOLVE
    /* The structures this file reads (bam1_core_t, htsFile, BGZF) come from the headers it was
     * compiled with; refuse a library of another htslib release rather than guess. */
    const char *version = H.hts_version();
    char built[32];
    snprintf(built, sizeof built, "%d.%d", HTS_VERSION / 100000, HTS_VERSION / 100 % 1000);
    size_t length = strlen(built);
    if (strncmp(version, built, length) != 0 || (version[length] >= '0' && version[length] <= '9')) {
        memset(&H, 0, sizeof H);
        return PyErr_Format(PyExc_OSError, "%s is htslib %s but this module was built for htslib %s", path,
                            version, built);
    }
    H.loaded = 1;
    Py_RETURN_NONE;
}

typedef struct {
    PyObject_HEAD
    htsFile *fp;
    sam_hdr_t *header;
    bam1_t *record;
    hts_idx_t *index;
    char *index_path;
    int unmapped_only;
    int done;
    kstring_t line;
    char *buffer;
    size_t buffer_size;
    size_t buffer_capacity;
    unsigned long long records, reads, bases;
    /* Why the last read() stopped early, for raising once the GIL is held again. */
    int failure;       /* 0, or one of the FAIL_ codes */
    int failure_value; /* htslib's return code */
} Scanner;

enum { FAIL_NONE, FAIL_READ, FAIL_INDEX, FAIL_MAPPED, FAIL_FORMAT, FAIL_MEMORY };

static void scanner_release(Scanner *self) {
    if (self->index != NULL) H.hts_idx_destroy(self->index);
    if (self->record != NULL) H.bam_destroy1(self->record);
    if (self->header != NULL) H.sam_hdr_destroy(self->header);
    if (self->fp != NULL) H.hts_close(self->fp);
    free(self->line.s);
    free(self->buffer);
    PyMem_Free(self->index_path);
    self->index = NULL;
    self->record = NULL;
    self->header = NULL;
    self->fp = NULL;
    self->line.s = NULL;
    self->line.l = self->line.m = 0;
    self->buffer = NULL;
    self->buffer_size = self->buffer_capacity = 0;
    self->index_path = NULL;
}

static void scanner_dealloc(Scanner *self) {
    scanner_release(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static uint64_t tell(Scanner *self) { return bgzf_tell(self->fp->fp.bgzf); }

static int scanner_init(Scanner *self, PyObject *args, PyObject *kwargs) {
    static char *keywords[] = {"path", "index_path", "threads", "unmapped_only", "reference", NULL};
    PyObject *path_object, *index_object, *reference_object = NULL;
    int threads = 0, unmapped_only = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O&O|ipO&", keywords, PyUnicode_FSConverter, &path_object,
                                     &index_object, &threads, &unmapped_only, PyUnicode_FSConverter,
                                     &reference_object))
        return -1;
    if (!H.loaded) {
        Py_DECREF(path_object);
        Py_XDECREF(reference_object);
        PyErr_SetString(PyExc_RuntimeError, "call load() with the path of htslib first");
        return -1;
    }
    scanner_release(self);
    self->unmapped_only = unmapped_only;
    self->done = 0;
    self->failure = FAIL_NONE;
    self->records = self->reads = self->bases = 0;
    if (index_object != Py_None) {
        PyObject *index_bytes;
        if (!PyUnicode_FSConverter(index_object, &index_bytes)) {
            Py_DECREF(path_object);
            Py_XDECREF(reference_object);
            return -1;
        }
        const char *text = PyBytes_AS_STRING(index_bytes);
        size_t length = strlen(text) + 1;
        self->index_path = PyMem_Malloc(length);
        if (self->index_path != NULL) memcpy(self->index_path, text, length);
        Py_DECREF(index_bytes);
        if (self->index_path == NULL) {
            Py_DECREF(path_object);
            Py_XDECREF(reference_object);
            PyErr_NoMemory();
            return -1;
        }
    }
    const char *path = PyBytes_AS_STRING(path_object);
    const char *reference = reference_object != NULL ? PyBytes_AS_STRING(reference_object) : NULL;
    int usable = 0;
    Py_BEGIN_ALLOW_THREADS
    self->fp = H.hts_open(path, "rb");
    if (self->fp != NULL) {
        enum htsExactFormat format = self->fp->format.format;
        /* A BAM is indexed here, record by record; a CRAM's index is built apart (build_index). */
        usable = (format == bam && self->fp->format.compression == bgzf) ||
                 (format == cram && self->index_path == NULL);
        if (usable && format == cram && reference != NULL) usable = H.hts_set_fai_filename(self->fp, reference) == 0;
        if (usable && threads > 0) H.hts_set_threads(self->fp, threads);
        if (usable) self->header = H.sam_hdr_read(self->fp);
    }
    Py_END_ALLOW_THREADS
    Py_XDECREF(reference_object);
    if (!usable) {
        PyErr_SetObject(ScanError,
                        Py_BuildValue("(ss)", "open",
                                      self->fp == NULL ? "htslib cannot open the file"
                                                       : "the file is not a BGZF-compressed BAM, nor a CRAM "
                                                         "(without index_path) whose reference could be set"));
        Py_DECREF(path_object);
        return -1;
    }
    Py_DECREF(path_object);
    if (self->header == NULL) {
        PyErr_SetObject(ScanError, Py_BuildValue("(ss)", "header", "htslib cannot read the header"));
        return -1;
    }
    self->record = H.bam_init1();
    if (self->record == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    if (self->index_path != NULL) {
        /* What `samtools index` builds by default: a BAI (min_shift 14, 5 levels). */
        self->index = H.hts_idx_init(H.sam_hdr_nref(self->header), HTS_FMT_BAI, tell(self), 14, 5);
        if (self->index == NULL) {
            PyErr_NoMemory();
            return -1;
        }
    }
    return 0;
}

static int reserve(Scanner *self, size_t extra) {
    size_t needed = self->buffer_size + extra;
    if (needed <= self->buffer_capacity) return 0;
    size_t capacity = self->buffer_capacity ? self->buffer_capacity : (1 << 20);
    while (capacity < needed) capacity *= 2;
    char *grown = realloc(self->buffer, capacity);
    if (grown == NULL) return -1;
    self->buffer = grown;
    self->buffer_capacity = capacity;
    return 0;
}

/* Reads records into the buffer until it holds min_size bytes or the file ends. Runs without
 * the GIL: touches no Python object. */
static void fill(Scanner *self, size_t min_size) {
    bam1_t *b = self->record;
    while (self->buffer_size < min_size) {
        int status = H.sam_read1(self->fp, self->header, b);
        if (status < 0) {
            self->done = 1;
            if (status < -1) {
                self->failure = FAIL_READ;
                self->failure_value = status;
            }
            return;
        }
        uint16_t flag = b->core.flag;
        if (self->unmapped_only && !(flag & BAM_FUNMAP)) {
            self->failure = FAIL_MAPPED;
            return;
        }
        if (self->index != NULL) {
            int pushed = H.hts_idx_push(self->index, b->core.tid, b->core.pos, H.bam_endpos(b), tell(self),
                                        !(flag & BAM_FUNMAP));
            if (pushed < 0) {
                self->failure = FAIL_INDEX;
                self->failure_value = pushed;
                return;
            }
        }
        self->records++;
        if (!(flag & SECONDARY_OR_SUPPLEMENTARY)) {
            self->reads++;
            self->bases += (unsigned long long)b->core.l_qseq;
        }
        if (H.sam_format1(self->header, b, &self->line) < 0) {
            self->failure = FAIL_FORMAT; /* e.g. corrupt aux data: htslib says which on stderr */
            return;
        }
        if (reserve(self, self->line.l + 1) < 0) {
            self->failure = FAIL_MEMORY;
            return;
        }
        memcpy(self->buffer + self->buffer_size, self->line.s, self->line.l);
        self->buffer_size += self->line.l;
        self->buffer[self->buffer_size++] = '\n';
    }
}

static PyObject *raise_failure(Scanner *self) {
    int failure = self->failure;
    self->failure = FAIL_NONE;
    self->done = 1;
    switch (failure) {
    case FAIL_READ:
        PyErr_SetObject(ScanError,
                        Py_BuildValue("(si)", "read", self->failure_value));
        return NULL;
    case FAIL_INDEX:
        PyErr_SetObject(ScanError, Py_BuildValue("(si)", "index", self->failure_value));
        return NULL;
    case FAIL_FORMAT:
        PyErr_SetObject(ScanError, Py_BuildValue("(si)", "read", -1));
        return NULL;
    case FAIL_MAPPED: {
        bam1_t *b = self->record;
        const char *contig = b->core.tid >= 0 ? H.sam_hdr_tid2name(self->header, b->core.tid) : NULL;
        PyErr_SetObject(ScanError, Py_BuildValue("(sKy#sLi)", "mapped", self->records + 1, bam_get_qname(b),
                                                 (Py_ssize_t)(b->core.l_qname - b->core.l_extranul - 1),
                                                 contig != NULL ? contig : "*", (long long)b->core.pos + 1,
                                                 (int)b->core.flag));
        return NULL;
    }
    default:
        return PyErr_NoMemory();
    }
}

static PyObject *scanner_read(Scanner *self, PyObject *arg) {
    Py_ssize_t min_size = PyLong_AsSsize_t(arg);
    if (min_size == -1 && PyErr_Occurred()) return NULL;
    if (self->fp == NULL) {
        PyErr_SetString(PyExc_ValueError, "the scanner is closed");
        return NULL;
    }
    if (min_size < 1) min_size = 1;
    self->buffer_size = 0;
    if (!self->done) {
        Py_BEGIN_ALLOW_THREADS
        fill(self, (size_t)min_size);
        Py_END_ALLOW_THREADS
    }
    if (self->failure != FAIL_NONE) return raise_failure(self);
    return PyBytes_FromStringAndSize(self->buffer != NULL ? self->buffer : "", (Py_ssize_t)self->buffer_size);
}

static PyObject *scanner_finish(Scanner *self, PyObject *unused) {
    if (self->fp == NULL || !self->done) {
        PyErr_SetString(PyExc_ValueError, "finish() comes after read() has returned b\"\"");
        return NULL;
    }
    if (self->index != NULL) {
        int status;
        Py_BEGIN_ALLOW_THREADS
        status = H.hts_idx_finish(self->index, tell(self));
        if (status == 0) status = H.hts_idx_save_as(self->index, NULL, self->index_path, HTS_FMT_BAI);
        Py_END_ALLOW_THREADS
        if (status < 0) {
            PyErr_SetObject(ScanError, Py_BuildValue("(si)", "index", status));
            return NULL;
        }
    }
    scanner_release(self);
    Py_RETURN_NONE;
}

static PyObject *scanner_close(Scanner *self, PyObject *unused) {
    scanner_release(self);
    Py_RETURN_NONE;
}

static PyObject *scanner_header(Scanner *self, void *closure) {
    if (self->header == NULL) return PyBytes_FromStringAndSize("", 0);
    const char *text = H.sam_hdr_str(self->header);
    return PyBytes_FromStringAndSize(text != NULL ? text : "", text != NULL ? (Py_ssize_t)H.sam_hdr_length(self->header) : 0);
}

static PyObject *scanner_records(Scanner *self, void *closure) { return PyLong_FromUnsignedLongLong(self->records); }
static PyObject *scanner_reads(Scanner *self, void *closure) { return PyLong_FromUnsignedLongLong(self->reads); }
static PyObject *scanner_bases(Scanner *self, void *closure) { return PyLong_FromUnsignedLongLong(self->bases); }

static PyMethodDef scanner_methods[] = {
    {"read", (PyCFunction)scanner_read, METH_O, "SAM text of the next records, at least min_size bytes unless at the end"},
    {"finish", (PyCFunction)scanner_finish, METH_NOARGS, "write the index and close"},
    {"close", (PyCFunction)scanner_close, METH_NOARGS, "close without writing the index"},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef scanner_getset[] = {
    {"header", (getter)scanner_header, NULL, "SAM header text", NULL},
    {"records", (getter)scanner_records, NULL, "records read", NULL},
    {"reads", (getter)scanner_reads, NULL, "records neither secondary nor supplementary", NULL},
    {"bases", (getter)scanner_bases, NULL, "bases of those records", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyTypeObject ScannerType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "seqstore.genomics._htscan.Scanner",
    .tp_basicsize = sizeof(Scanner),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "One pass over a BAM: SAM text, counts and BAI",
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)scanner_init,
    .tp_dealloc = (destructor)scanner_dealloc,
    .tp_methods = scanner_methods,
    .tp_getset = scanner_getset,
};

static PyObject *build_index(PyObject *module, PyObject *args) {
    PyObject *path_object, *index_object;
    if (!PyArg_ParseTuple(args, "O&O&", PyUnicode_FSConverter, &path_object, PyUnicode_FSConverter, &index_object))
        return NULL;
    if (!H.loaded) {
        Py_DECREF(path_object);
        Py_DECREF(index_object);
        PyErr_SetString(PyExc_RuntimeError, "call load() with the path of htslib first");
        return NULL;
    }
    int status;
    const char *path = PyBytes_AS_STRING(path_object), *index_path = PyBytes_AS_STRING(index_object);
    Py_BEGIN_ALLOW_THREADS
    status = H.sam_index_build3(path, index_path, 0, 0);
    Py_END_ALLOW_THREADS
    Py_DECREF(path_object);
    Py_DECREF(index_object);
    return PyLong_FromLong(status);
}

static PyMethodDef module_methods[] = {
    {"load", load, METH_O, "resolve the htslib functions from the shared library at this path"},
    {"build_index", build_index, METH_VARARGS,
     "build_index(path, index_path) -> sam_index_build's status (0: written); for CRAM (CRAI), without the GIL"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_definition = {
    PyModuleDef_HEAD_INIT, "_htscan", "One-pass BAM scanning on pysam's htslib", -1, module_methods,
};

PyMODINIT_FUNC PyInit__htscan(void) {
    if (PyType_Ready(&ScannerType) < 0) return NULL;
    PyObject *module = PyModule_Create(&module_definition);
    if (module == NULL) return NULL;
    ScanError = PyErr_NewException("seqstore.genomics._htscan.ScanError", NULL, NULL);
    if (ScanError == NULL || PyModule_AddObjectRef(module, "ScanError", ScanError) < 0 ||
        PyModule_AddObjectRef(module, "Scanner", (PyObject *)&ScannerType) < 0) {
        Py_DECREF(module);
        return NULL;
    }
    return module;
}
