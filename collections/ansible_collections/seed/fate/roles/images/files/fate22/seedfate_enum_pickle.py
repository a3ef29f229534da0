# seed.fate: pickle enum members by value, as Python >= 3.11.7 does.
#
# Debian bookworm's Python 3.11.2 pickles an enum member as getattr(cls, name); FATE 2.2's restricted
# federation unpickler refuses builtins.getattr, so every multi-party job fails at the first enum sent
# between parties. Imported from seedfate_enum_pickle.pth in the venv's site-packages (Debian's own
# sitecustomize.py shadows one in the venv). The unpickler stays restricted.
import enum


def _reduce_by_value(self, proto):
    return self.__class__, (self._value_,)


enum.Enum.__reduce_ex__ = _reduce_by_value
