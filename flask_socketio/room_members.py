"""The members of one room: a ``bidict`` that is cheap to make, join and leave.

python-socketio keeps ``rooms[namespace][room] = bidict({sid: eio_sid})`` and reads
the bidict's backing dicts itself (``_fwdm`` in ``get_participants``, ``_invm`` in
``sid_from_eio_sid``); its ``pre_connect`` tells "already connected" by the
``ValueDuplicationError`` that entering the ``None`` room with a taken eio_sid
raises. Every connection makes its own sid room and joins the ``None`` room, and
every disconnect undoes both, so a bidict's generic paths are paid on each: its
constructor goes through ``_update`` (an ABC ``isinstance``), a set through ``put``,
``_dedup`` and ``_write``, a delete through ``_pop`` and ``_pop_invm``, ``in`` and
``get`` through ``Mapping``'s ``__getitem__`` (about 1.5 µs for a new room with one
member, against 0.06 µs for the two dict writes it comes down to).

:class:`RoomMembers` is a ``bidict`` (``isinstance``, equality, ``inverse``, copy and
pickle are bidict's) whose constructor with no items, set of a new key to a new
value, delete or pop of a present key, ``in`` and ``get`` go straight to the two
backing dicts; anything else (items to start with, a duplicate key or value, a
missing key) is bidict's own method, so its semantics, exceptions included, are
bidict's. ``tests/unit/test_upstream_contract_bidict.py`` runs seeded random
sequences on both and compares them; ``flask_socketio/upstream.py`` lists the two
private attributes.
"""

from __future__ import annotations

from typing import Any

from bidict import bidict

#: "No items given": the constructor's default, kept apart from items passed in.
_NO_ITEMS: Any = ()
#: "No default given" for :meth:`RoomMembers.pop`.
_NO_DEFAULT: Any = object()


class RoomMembers(bidict[Any, Any]):
    """``{sid: eio_sid}`` of one room: a ``bidict`` whose common operations cost
    dict operations."""

    __slots__ = ()

    def __init__(self, arg: Any = _NO_ITEMS, /, **kw: Any) -> None:
        if arg is not _NO_ITEMS or kw:
            super().__init__(arg, **kw)
            return
        # what bidict's __init__ leaves with nothing to add (its backing classes
        # are dict): tests/unit/test_upstream_contract_bidict.py checks it
        self._fwdm = {}
        self._invm = {}

    def __setitem__(self, key: Any, val: Any) -> None:
        fwdm, invm = self._fwdm, self._invm
        if key in fwdm or val in invm:  # a duplicate: bidict decides (and raises)
            super().__setitem__(key, val)
            return
        fwdm[key] = val
        invm[val] = key

    def pop(self, key: Any, default: Any = _NO_DEFAULT, /) -> Any:
        fwdm = self._fwdm
        try:
            val = fwdm.get(key, _NO_DEFAULT)
        except TypeError:  # unhashable: bidict says which error (KeyError if empty)
            val = _NO_DEFAULT
        if val is _NO_DEFAULT:  # missing: bidict raises or gives the default
            return super().pop(key) if default is _NO_DEFAULT else super().pop(key, default)
        del self._invm[val]  # first: should it fail, nothing has changed
        del fwdm[key]
        return val

    #: ``del members[sid]``: :meth:`pop`, its value dropped.
    __delitem__ = pop

    def __contains__(self, key: object) -> bool:
        return key in self._fwdm

    def get(self, key: Any, default: Any = None) -> Any:
        return self._fwdm.get(key, default)
