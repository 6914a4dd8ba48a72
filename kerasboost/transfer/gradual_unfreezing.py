"""Gradual unfreezing (Howard & Ruder 2018) as a `fit` callback."""

from __future__ import annotations

import keras

from kerasboost import _keras
from kerasboost.api_export import kerasboost_export
from kerasboost.optimizers.hidden_variables import hidden_variables, remove_by_identity
from kerasboost.optimizers.wrapper import optimizer_chain
from kerasboost.transfer.freezing import layer_position, leaf_layers, unfreeze
from kerasboost.utils.validation import check_bool, check_number, fail


def rebuild_optimizer(model) -> None:
    """Build `model.optimizer` again for the model's current trainable variables, in place.

    Slots of variables that were already trained keep their values (matched by
    the optimizer in the chain and the slot's name, which holds the variable's path); new variables start with fresh
    slots; the iteration count, the learning rate and variables that callbacks
    attached are kept. Keras optimizers are built once for a fixed variable
    list, and JAX's trainer requires exactly the trainable list.
    """
    outer = model.optimizer
    chain = optimizer_chain(outer)
    values = {(i, v.name): keras.ops.convert_to_numpy(v) for i, o in enumerate(chain) for v in _keras.variables_list(o)}
    keep = []
    for optimizer in chain:
        keep += [optimizer.iterations] + hidden_variables(optimizer)
        if _keras.holds_float_rate(optimizer):
            keep.append(_keras.learning_rate_value(optimizer))
    for optimizer in chain:
        variables = _keras.variables_list(optimizer)
        remove_by_identity(variables, [v for v in variables if not any(v is k for k in keep)])
        _keras.unbuild(optimizer)
    outer.build(model.trainable_variables)
    for i, optimizer in enumerate(chain):
        for v in _keras.variables_list(optimizer):
            old = values.get((i, v.name))
            if old is not None and not any(v is k for k in keep) and tuple(v.shape) == old.shape:
                v.assign(old)


@kerasboost_export("kerasboost.transfer.GradualUnfreezing", register=False)
class GradualUnfreezing(keras.callbacks.Callback):
    """Unfreeze one more block, from the output toward the input, every `every_n_epochs` epochs.

    Start from a model whose pre-trained part is frozen (`freeze`) and whose
    new head trains. At epoch `every_n_epochs` the block nearest the output
    is unfrozen (from its first layer up), at `2 * every_n_epochs` the next
    one, until every block trains (ULMFiT's schedule with `every_n_epochs=1`
    and one layer group per block). At each change the compiled step is
    traced again and the optimizer is rebuilt for the new variables: slots of
    variables that already trained keep their values, the step count (and so
    any schedule) continues. BatchNormalization layers stay frozen unless
    `keep_batch_norm_frozen=False`. Other callbacks that size their state by
    the trainable variables at the start of `fit` (`GradientStatistics`) do
    not follow the change.

    Args:
        blocks: layer names, nested-model names or leaf-layer indices where a
            block starts (any order: they are unfrozen from the output side).
            None: every leaf layer with weights is a block.
        every_n_epochs: int >= 1, epochs between two unfreezings. Defaults to 1.
        keep_batch_norm_frozen: bool. Defaults to True.
        verbose: 0 or 1 (print each change with the trainable parameter count).

    Example:

    ```python
    >>> import keras, numpy as np, kerasboost
    >>> model = keras.Sequential([keras.Input((4,))] + [keras.layers.Dense(4, name=f"d{i}") for i in range(3)])
    >>> _ = kerasboost.transfer.freeze(model, until="d1")
    >>> model.compile(optimizer="adam", loss="mse")
    >>> unfreezing = kerasboost.transfer.GradualUnfreezing(["d0", "d1"], every_n_epochs=2)
    >>> _ = model.fit(np.ones((8, 4)), np.ones((8, 4)), epochs=5, verbose=0, callbacks=[unfreezing])
    >>> unfreezing.events   # (epoch, first unfrozen layer)
    [(2, 'd1'), (4, 'd0')]

    ```

    References:
        - Howard & Ruder, 2018, "Universal Language Model Fine-tuning for Text
          Classification", https://arxiv.org/abs/1801.06146
    """

    def __init__(
        self, blocks: list | None = None, every_n_epochs: int = 1, keep_batch_norm_frozen: bool = True, verbose: int = 0
    ) -> None:
        super().__init__()
        if blocks is not None and (not isinstance(blocks, (list, tuple)) or not blocks):
            raise fail("blocks", "None or a non-empty list of layer names or indices", blocks)
        self.blocks = None if blocks is None else list(blocks)
        self.every_n_epochs = check_number("every_n_epochs", every_n_epochs, low=1, integer=True)
        self.keep_batch_norm_frozen = check_bool("keep_batch_norm_frozen", keep_batch_norm_frozen)
        if verbose not in (0, 1, True, False):
            raise fail("verbose", "0 or 1", verbose)
        self.verbose = int(verbose)
        self.events: list[tuple[int, str]] = []

    def on_train_begin(self, logs=None):
        leaves = leaf_layers(self.model)
        if self.blocks is None:
            starts = [i for i, layer in enumerate(leaves) if layer.weights]
        else:
            starts = [layer_position(self.model, leaves, block, "blocks")[0] for block in self.blocks]
        self._starts = sorted(set(starts), reverse=True)
        self.events = []

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == 0 or epoch % self.every_n_epochs:
            return
        k = epoch // self.every_n_epochs
        if k > len(self._starts):
            return
        start = self._starts[k - 1]
        before = [v.path for v in self.model.trainable_variables]
        summary = unfreeze(self.model, start=start, keep_batch_norm_frozen=self.keep_batch_norm_frozen)
        layer = leaf_layers(self.model)[start]
        self.events.append((epoch, layer.name))
        if [v.path for v in self.model.trainable_variables] != before:
            rebuild_optimizer(self.model)
            self.model.make_train_function(force=True)
        if self.verbose:
            print(
                f"GradualUnfreezing: epoch {epoch + 1}: unfroze from {layer.name}; {summary.trainable_params:,} "
                "trainable parameters."
            )
