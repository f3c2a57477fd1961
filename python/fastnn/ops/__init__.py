"""fastnn's ops: each a forward and a backward function, dispatched to the
backend that owns the arrays (or the one named by ``backend=``).

Every function accepts non-contiguous arrays (copied once), takes optional
output arrays (``out=`` and friends) so a training loop can reuse buffers,
and supports float32 and float64. An output that overlaps an input the
kernel still reads is a ValueError (naming the kernel's arguments), except
where a docstring allows in-place use. ``fastnn.reference`` holds a plain
NumPy twin of each.
"""
from .activation import ACTIVATIONS, activation_backward, activation_forward
from .batchnorm import (
    batchnorm_apply,
    batchnorm_backward,
    batchnorm_forward,
    batchnorm_grad_apply,
    batchnorm_grad_sums,
    batchnorm_inference_backward,
    batchnorm_sums,
)
from .conv2d import conv2d_backward, conv2d_forward, conv2d_output_shape, conv2d_workspace_size
from .dense import bias_grad, dense_backward, dense_forward
from .dropout import dropout_backward, dropout_forward, dropout_mask
from .gaussian_noise import gaussian_noise
from .gradient_clip import CLIP_MODES, clip_gradients
from .hinge import hinge_backward, hinge_forward
from .loss import (
    bce_logits_backward,
    bce_logits_forward,
    categorical_hinge_backward,
    categorical_hinge_forward,
    huber_backward,
    huber_forward,
    kl_divergence_backward,
    kl_divergence_forward,
    mae_backward,
    mae_forward,
    mse_backward,
    mse_forward,
)
from .merge import (
    add_forward,
    average_backward,
    average_forward,
    concatenate_backward,
    concatenate_forward,
    maximum_backward,
    maximum_forward,
    multiply_backward,
    multiply_forward,
    subtract_backward,
    subtract_forward,
)
from .optimizer import OPTIMIZERS, STATE_COUNT, ema_update, max_norm_project, optimizer_update
from .pool import (
    avg_pool2d_backward,
    avg_pool2d_forward,
    global_avg_pool2d_backward,
    global_avg_pool2d_forward,
    max_pool2d_backward,
    max_pool2d_forward,
    pool2d_output_shape,
)
from .prelu import prelu_backward, prelu_forward
from .regularizer import activity_regularizer_backward, activity_regularizer_penalty
from .rescaling import rescaling_backward, rescaling_forward
from .softmax import (
    softmax_backward,
    softmax_cross_entropy_backward,
    softmax_cross_entropy_forward,
    softmax_forward,
)
from .spatial_dropout import spatial_dropout_backward, spatial_dropout_forward
from .zero_padding2d import zero_padding2d_backward, zero_padding2d_forward
