"""Phone numbers: read every shape Turkish sheets and people use, to E.164.

:func:`normalize` is fast for Turkish mobiles and defers to phonenumbers for the
rest; :func:`classify` tells mobiles from landlines; :func:`mask` hides numbers in logs.
"""

from isobil.phone._classify import NumberKind, classify, is_turkish_mobile
from isobil.phone._mask import id_repr, mask
from isobil.phone._normalize import Normalizer, normalize

__all__ = [
    "Normalizer",
    "NumberKind",
    "classify",
    "id_repr",
    "is_turkish_mobile",
    "mask",
    "normalize",
]
