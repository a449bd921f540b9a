"""The C extension module of the sample sdist; it links libffi and OpenSSL's libcrypto."""

from setuptools import Extension, setup

setup(ext_modules=[Extension("reactor_cext", ["src/reactor_cext.c"], libraries=["ffi", "crypto"])])
