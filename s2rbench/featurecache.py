"""Public alias of `s2rbench.tasks.featurecache` (the feature cache lives with the tables it featurizes)."""

import sys

from .tasks import featurecache as _featurecache

sys.modules[__name__] = _featurecache
