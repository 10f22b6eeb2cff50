"""A placeholder for the `dsinternals` package, which Debian 12 does not
ship. impacket's ntlmrelayx imports it only for its LDAP shadow-credentials
attack, which the lab never runs; the SMB relay does not touch it. Any
`dsinternals.x.y` import gets an empty module whose names are inert
classes, so that import succeeds; using one raises."""
import importlib.abc
import importlib.machinery
import sys
import types


class _Unavailable:
    def __init__(self, *a, **k):
        raise RuntimeError("dsinternals is not installed (lab placeholder)")


class _Module(types.ModuleType):
    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return _Unavailable


class _Finder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, name, path, target=None):
        if name.startswith("dsinternals."):
            return importlib.machinery.ModuleSpec(name, self, is_package=True)
        return None

    def create_module(self, spec):
        m = _Module(spec.name)
        m.__path__ = []
        return m

    def exec_module(self, module):
        pass


sys.meta_path.insert(0, _Finder())
