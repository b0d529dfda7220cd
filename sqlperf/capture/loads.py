"""What the ORM was doing when it sent a statement, and the loader option that fixes it.

``do_orm_execute`` tells a relationship lazy load (which parent, which relationship) and
a column load (a deferred column, or an expired object being refreshed) apart from an
ordinary query; the advice names the exact option for that relationship or column.
"""

from __future__ import annotations

from dataclasses import dataclass

LAZY, DEFERRED, EXPIRED = "lazy", "deferred", "expired"


@dataclass(frozen=True, slots=True)
class OrmLoad:
    kind: str  # lazy / deferred / expired
    parent: str  # the mapped class whose attribute was loaded: "Post"
    attribute: str  # "comments", or the deferred column(s): "body"
    collection: bool = False  # a one-to-many / many-to-many relationship
    many_to_one: bool = False
    # When the parent objects were themselves loaded through relationships (lazily or by an
    # option): the loader options of that path, from the class the query loaded, and that class.
    via: tuple[str, ...] = ()
    root: str = ""

    @property
    def label(self) -> str:
        """``Post.comments``."""
        return f"{self.parent}.{self.attribute}"


def describe(state) -> OrmLoad | None:
    """The load an ``ORMExecuteState`` stands for, or None for an ordinary query."""
    if not state.is_select:
        return None  # ORM-enabled UPDATE/DELETE: no load options at all
    options = state.execution_options.get("_sa_orm_load_options")
    if options is None:
        return None
    refresh = options._refresh_state
    return describe_facts(*load_facts(options, state.statement, refresh is not None and bool(refresh.expired_attributes)))


# (id(path), id(parent's load path)) -> (path, parent's load path, OrmLoad); the paths are
# kept so that their ids stay their own.
_lazy_loads: dict[tuple, tuple[object, object, OrmLoad]] = {}


def _eager_option(many_to_one: bool, collection: bool) -> str:
    """The eager loader for one relationship: joinedload for many-to-one (or any single object),
    selectinload for collections."""
    return "joinedload" if many_to_one or not collection else "selectinload"


def _many_to_one(prop) -> bool:
    return getattr(getattr(prop, "direction", None), "name", "") == "MANYTOONE"


def _option(prop) -> str:
    return _eager_option(_many_to_one(prop), bool(prop.uselist))


def _loaded_via(parent_path) -> tuple[tuple[str, ...], str]:
    """The loader options along the relationships that loaded the parent objects, and the
    class at the start of that path: ``(("selectinload(Post.comments)",), "Post")``."""
    elements = getattr(parent_path, "path", None) or ()
    props = elements[1::2]
    if not props or not all(hasattr(p, "key") and hasattr(p, "uselist") for p in props):
        return (), ""
    try:
        via = tuple(f"{_option(p)}({p.parent.class_.__name__}.{p.key})" for p in props)
        return via, elements[0].class_.__name__
    except AttributeError:  # an unusual path (aliased classes, ...): plain advice instead
        return (), ""


def load_facts(options, statement, expired: bool) -> tuple:
    """:func:`describe_facts`'s arguments, read from an execution's ORM load options, its
    statement and whether the refreshed object had expired attributes (the one fact that
    changes once the load is done). The recorder keeps these, not the options or the statement."""
    lazy_from = options._lazy_loaded_from
    refresh = options._refresh_state
    compile_options = getattr(statement, "_compile_options", None)
    return (
        lazy_from is not None,
        getattr(compile_options, "_current_path", None),
        getattr(lazy_from, "load_path", None),
        refresh.class_ if refresh is not None else None,
        getattr(compile_options, "_only_load_props", None),
        expired,
    )


def describe_facts(lazy: bool, path, parent_path, refreshed: type | None, keys, expired: bool) -> OrmLoad | None:
    """The load of one execution from what the recorder keeps of it (:func:`load_facts`), neither
    the load options (they hold the parent object's state) nor the statement (the ORM makes one
    per lazy load), so that nothing outlives the application's own use of it: whether it was a
    lazy load, the statement's loader path (ORMExecuteState.loader_strategy_path) and the path
    by which the parent object was loaded; the class of the object being refreshed, the
    columns the refresh loads, and whether that object had expired attributes."""
    if lazy:
        if path is None:
            return None
        # parent_path: the path by which the parent object itself was loaded (Post, then Post.comments...).
        # SQLAlchemy keeps one path object per relationship path: an N+1's loads share them.
        key = (id(path), id(parent_path))
        known = _lazy_loads.get(key)
        if known is not None and known[0] is path and known[1] is parent_path:
            return known[2]
        prop = path[-1] if len(path) else None
        if prop is None or not hasattr(prop, "key"):
            return None
        parent = prop.parent.class_.__name__
        via, root = _loaded_via(parent_path)
        load = OrmLoad(LAZY, parent, prop.key, collection=bool(prop.uselist), many_to_one=_many_to_one(prop),
                       via=via, root=root)
        if len(_lazy_loads) > 10_000:
            _lazy_loads.clear()
        _lazy_loads[key] = (path, parent_path, load)
        return load
    if refreshed is not None:
        parent = refreshed.__name__
        if expired:
            return OrmLoad(EXPIRED, parent, "*")
        return OrmLoad(DEFERRED, parent, ", ".join(sorted(keys or ())) or "*")
    return None


def through_relationship(load: OrmLoad, entry_frame) -> OrmLoad:
    """An expired object refreshed because a many-to-one attribute led to it is that
    relationship's N+1: ``post.author`` found the User in the identity map, expired, and
    refreshed it. The application's entry into SQLAlchemy was the attribute access, whose
    frame holds the attribute (runs only for expired-object loads, so reading locals is fine)."""
    if entry_frame.f_code.co_qualname != "InstrumentedAttribute.__get__":
        return load
    attribute = entry_frame.f_locals.get("self")
    prop = getattr(attribute, "property", None)
    if prop is None or not hasattr(prop, "uselist") or not hasattr(prop, "direction"):
        return load  # a column: the message about expired objects is the right one
    parent = prop.parent.class_.__name__
    return OrmLoad(LAZY, parent, prop.key, collection=bool(prop.uselist), many_to_one=prop.direction.name == "MANYTOONE")


@dataclass(frozen=True)
class Advice:
    replacement: str  # the option or construct to use, as code
    text: str  # one sentence a person can act on


def n_plus_one_advice(load: OrmLoad | None, entry: str, entity: tuple[str, str] | None) -> Advice:
    """How to load the rows of an N+1 in one statement."""
    if load is not None and load.kind == LAZY:
        option = _eager_option(load.many_to_one, load.collection)
        replacement = ".".join((*load.via, f"{option}({load.label})"))
        loads = load.root if load.via else load.parent
        return Advice(
            replacement,
            f"load {load.label} up front: add .options({replacement}) to the query that loads the "
            f"{loads} objects; .options(raiseload(\"*\")) there keeps new lazy loads from creeping in",
        )
    if load is not None and load.kind == DEFERRED:
        columns = [c.strip() for c in load.attribute.split(",")]
        replacement = ", ".join(f"undefer({load.parent}.{c})" for c in columns)
        return Advice(
            replacement,
            f"{load.parent}.{load.attribute} is deferred and loaded row by row: add .options({replacement}) "
            f"to the query that loads the {load.parent} objects",
        )
    if load is not None and load.kind == EXPIRED:
        replacement = "Session(expire_on_commit=False)"
        return Advice(
            replacement,
            f"the {load.parent} objects were expired (by commit() or expire()) and each one is refreshed "
            f"on first access: read what you need before the commit, keep the values with {replacement}, "
            f"or reload all of them in one query",
        )
    if entry.rpartition(".")[2] == "get":
        model, key = entity or ("Model", "id")
        replacement = f"select({model}).where({model}.{key}.in_(keys))"
        return Advice(
            replacement,
            f"session.get() in a loop runs one SELECT per key: load them in one query with "
            f"session.scalars({replacement})",
        )
    return Advice(
        "one statement for all rows",
        "run one statement for all rows instead of one per row: an IN (...) list of the keys, a JOIN, or a "
        "GROUP BY for per-row counts",
    )


def row_by_row_advice(kind: str) -> Advice:
    """The bulk form of a write sent one row at a time."""
    if kind == "insert":
        return Advice(
            "session.add_all(objects); session.flush()",
            "collect the objects and add them with session.add_all(...) and one flush (SQLAlchemy batches the "
            "INSERTs), or session.execute(insert(Model), [dict(...), ...]) for plain rows",
        )
    if kind == "update":
        return Advice(
            "session.execute(update(Model), [{...}, ...])",
            "change the objects first and flush once, or send one bulk UPDATE by primary key: "
            "session.execute(update(Model), [{\"id\": ..., ...}, ...])",
        )
    return Advice(
        "delete(Model).where(Model.id.in_(ids))",
        "delete the rows with one statement: session.execute(delete(Model).where(Model.id.in_(ids)))",
    )
