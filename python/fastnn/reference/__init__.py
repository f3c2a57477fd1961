"""Plain NumPy twins of every fastnn op: the test oracle and the readable
definition of what each kernel computes.

Each function is written like the lecture notes: forward is the formula,
backward is the chain rule / delta rule applied to it. They favour clarity
over speed and allocate freely.
"""
from .activation import ACTIVATIONS, activation_backward, activation_forward
from .batchnorm import (
    batchnorm_apply,
    batchnorm_backward,
    batchnorm_forward,
    batchnorm_grad_apply,
    batchnorm_grad_sums,
    batchnorm_inference_backward,
    batchnorm_stats,
    batchnorm_sums,
)
from .conv2d import conv2d_backward, conv2d_forward
from .dense import bias_grad, dense_backward, dense_forward
from .dropout import dropout_backward, dropout_forward, dropout_mask, philox4x32_10, philox_stream
from .gaussian_noise import gaussian_noise
from .gradient_clip import clip_gradients
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
from .optimizer import ema_update, max_norm_project, optimizer_update
from .pool import (
    avg_pool2d_backward,
    avg_pool2d_forward,
    global_avg_pool2d_backward,
    global_avg_pool2d_forward,
    max_pool2d_backward,
    max_pool2d_forward,
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
