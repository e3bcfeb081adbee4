"""Constructing library objects: `NoPublicConstructor`, and `fast_constructor` for hot-path values.

`NoPublicConstructor` is the metaclass of classes users receive but must not
build (trio's pattern for ``Nursery``): calling the class raises
`TypeError`, and the library builds one with ``Cls._create(...)``, an
attribute of the class rather than a name to import.

`fast_constructor` builds a frozen, slotted attrs class from its fields.

attrs's own ``__init__`` of a frozen class sets each field through a bound
``object.__setattr__``; the hot path builds one `Outcome` (and one
`PlannedCall`) per call, so `fast_constructor` generates, once per class and
from `attrs.fields`, a function that sets each slot through its member
descriptor instead. It takes the same keyword arguments, with the same
defaults; it exists only for classes whose fields have no validator,
converter or factory, which it checks, so that it can never build a value the
class's own ``__init__`` would refuse or build differently.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NoReturn, TypeVar

import attrs

__all__ = ["NoPublicConstructor", "fast_constructor"]

T = TypeVar("T")


class NoPublicConstructor(type):
    """A metaclass: ``Cls(...)`` raises `TypeError`; the library calls ``Cls._create(...)``.

    A class may say where users get its instances in a ``_made_by`` class attribute.
    """

    def __call__(cls, *args: object, **kwargs: object) -> NoReturn:
        where = getattr(cls, "_made_by", None)
        hint = f"; get one from {where}" if where else ""
        raise TypeError(f"no public constructor available for {cls.__qualname__}{hint}")

    def _create(cls: type[T], *args: Any, **kwargs: Any) -> T:
        """A new instance, built as ``type.__call__`` builds any class's."""
        made: T = type.__call__(cls, *args, **kwargs)
        return made


def fast_constructor(cls: type[T]) -> Callable[..., T]:
    """A keyword-only function that builds ``cls`` as its ``__init__`` would, without its per-field overhead.

    Raises:
        TypeError: ``cls`` is not a slotted attrs class, has a pre- or
            post-init hook, or a field has a validator, converter or default
            factory (the generated function would skip them).
    """
    if not attrs.has(cls) or "__slots__" not in vars(cls):
        raise TypeError(f"{cls.__name__} must be a slotted attrs class")
    if hasattr(cls, "__attrs_pre_init__") or hasattr(cls, "__attrs_post_init__"):
        raise TypeError(f"{cls.__name__} has an __attrs_pre_init__ or __attrs_post_init__ the constructor would skip")
    fields = attrs.fields(cls)
    namespace: dict[str, Any] = {"_new": object.__new__, "_cls": cls}
    parameters: list[str] = []
    body: list[str] = []
    for number, field in enumerate(fields):
        if field.validator is not None or field.converter is not None or not field.init:
            raise TypeError(f"{cls.__name__}.{field.name} has a validator, converter or init=False")
        if isinstance(field.default, attrs.Factory):  # type: ignore[arg-type]
            raise TypeError(f"{cls.__name__}.{field.name} has a default factory")
        if field.default is attrs.NOTHING:
            parameters.append(field.name)
        else:
            namespace[f"_default{number}"] = field.default
            parameters.append(f"{field.name}=_default{number}")
        namespace[f"_set{number}"] = vars(cls)[field.name].__set__  # the slot's member descriptor
        body.append(f"    _set{number}(self, {field.name})")
    source = "\n".join(
        [f"def make_{cls.__name__}(*, {', '.join(parameters)}):", "    self = _new(_cls)", *body, "    return self"]
    )
    exec(compile(source, f"<fast constructor of {cls.__qualname__}>", "exec"), namespace)
    make: Callable[..., T] = namespace[f"make_{cls.__name__}"]
    make.__doc__ = f"Build a {cls.__name__}; the same as ``{cls.__name__}(...)``, faster (see `fast_constructor`)."
    return make
