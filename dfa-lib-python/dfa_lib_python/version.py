"""Version of dfa_lib_python."""
__version__ = "1.0.0"
