"""NumPy reference implementations: the ground truth of the course.

Every function takes and returns NumPy arrays, keeps the floating dtype it is given (integers
become float64), never changes its inputs and rejects bad input with a `ValueError` naming the
argument and the shapes. Layout is channels-first, as in PyTorch; "convolution" in a layer is
cross-correlation. See docs in each submodule for the formulas.
"""

from .signal import *  # noqa: F401,F403
from .conv import *  # noqa: F401,F403
from .gemm import *  # noqa: F401,F403
from .pool import *  # noqa: F401,F403
from .activations import *  # noqa: F401,F403
from .losses import *  # noqa: F401,F403
from .linear import *  # noqa: F401,F403
from .norm import *  # noqa: F401,F403
from .variants import *  # noqa: F401,F403
from .gradcheck import *  # noqa: F401,F403
from .network import *  # noqa: F401,F403
