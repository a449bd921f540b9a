/* A sample C extension: sha256 through OpenSSL, an addition called through libffi. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <ffi.h>
#include <openssl/evp.h>

static PyObject *sha256_hex(PyObject *self, PyObject *args) {
    const char *data;
    Py_ssize_t length;
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int digest_length = 0;
    char hex[2 * EVP_MAX_MD_SIZE + 1];
    if (!PyArg_ParseTuple(args, "y#", &data, &length)) return NULL;
    if (!EVP_Digest(data, (size_t)length, digest, &digest_length, EVP_sha256(), NULL)) {
        PyErr_SetString(PyExc_RuntimeError, "EVP_Digest failed");
        return NULL;
    }
    for (unsigned int i = 0; i < digest_length; i++) sprintf(hex + 2 * i, "%02x", digest[i]);
    return PyUnicode_FromStringAndSize(hex, 2 * digest_length);
}

static long add(long a, long b) { return a + b; }

static PyObject *ffi_add(PyObject *self, PyObject *args) {
    long a, b, result = 0;
    ffi_cif cif;
    ffi_type *types[2] = {&ffi_type_slong, &ffi_type_slong};
    void *values[2] = {&a, &b};
    if (!PyArg_ParseTuple(args, "ll", &a, &b)) return NULL;
    if (ffi_prep_cif(&cif, FFI_DEFAULT_ABI, 2, &ffi_type_slong, types) != FFI_OK) {
        PyErr_SetString(PyExc_RuntimeError, "ffi_prep_cif failed");
        return NULL;
    }
    ffi_call(&cif, FFI_FN(add), &result, values);
    return PyLong_FromLong(result);
}

static PyMethodDef methods[] = {
    {"sha256_hex", sha256_hex, METH_VARARGS, "The sha256 of bytes, in hex, computed by OpenSSL."},
    {"ffi_add", ffi_add, METH_VARARGS, "a + b, called through libffi."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "reactor_cext", NULL, -1, methods};

PyMODINIT_FUNC PyInit_reactor_cext(void) { return PyModule_Create(&module); }
