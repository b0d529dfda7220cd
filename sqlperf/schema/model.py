"""The one schema model every loader fills and every rule reads.

Names are stored as given by the loader; lookups fold them the way PostgreSQL folds
unquoted identifiers (lower case), so ``Orders`` in a query finds ``orders`` in DDL.
"""

from __future__ import annotations

from dataclasses import dataclass, field


def fold(name: str) -> str:
    return name.lower()


@dataclass
class Column:
    name: str
    type: str = ""  # normalised lower-case type name, e.g. "integer", "varchar(255)", "timestamp"
    nullable: bool = True
    default: str | None = None


@dataclass
class Index:
    name: str
    table: str
    # Each entry is a column name, or an expression's SQL text such as "lower(email)".
    columns: list[str]
    unique: bool = False
    primary: bool = False
    method: str = "btree"
    where: str | None = None  # partial index predicate, as SQL
    descending: list[bool] = field(default_factory=list)
    # Which entries of ``columns`` are expressions rather than plain column names.
    expressions: list[bool] = field(default_factory=list)
    constraint: bool = False  # backs a PRIMARY KEY / UNIQUE constraint

    def is_expression(self, position: int) -> bool:
        return position < len(self.expressions) and self.expressions[position]

    @property
    def leading(self) -> str | None:
        return self.columns[0] if self.columns else None


@dataclass
class ForeignKey:
    columns: list[str]
    ref_table: str
    ref_columns: list[str]
    name: str | None = None


@dataclass
class Table:
    name: str
    schema: str | None = None
    columns: dict[str, Column] = field(default_factory=dict)  # keyed by folded name, in declaration order
    primary_key: list[str] = field(default_factory=list)
    unique: list[list[str]] = field(default_factory=list)
    indexes: list[Index] = field(default_factory=list)
    foreign_keys: list[ForeignKey] = field(default_factory=list)
    row_estimate: float | None = None

    @property
    def qualified_name(self) -> str:
        return f"{self.schema}.{self.name}" if self.schema else self.name

    def column(self, name: str) -> Column | None:
        return self.columns.get(fold(name))

    def add_column(self, column: Column) -> None:
        self.columns[fold(column.name)] = column

    def all_indexes(self) -> list[Index]:
        """Indexes including those implied by the primary key and unique constraints."""
        implied: list[Index] = []
        declared = {tuple(fold(c) for c in ix.columns) for ix in self.indexes}
        if self.primary_key and tuple(fold(c) for c in self.primary_key) not in declared:
            implied.append(
                Index(f"{self.name}_pkey", self.name, list(self.primary_key), unique=True, primary=True, constraint=True)
            )
        for cols in self.unique:
            if tuple(fold(c) for c in cols) not in declared:
                implied.append(Index(f"{self.name}_{'_'.join(cols)}_key", self.name, list(cols), unique=True, constraint=True))
        return implied + list(self.indexes)

    def pins_one_row(self, columns: set[str]) -> bool:
        """Equality on ``columns`` (folded names) covers a whole unique key: at most one row matches.

        Keys are the primary key, UNIQUE constraints and unique indexes on plain columns; a
        partial unique index does not count (rows outside its predicate may repeat the values).
        """
        keys = [self.primary_key, *self.unique]
        keys += [ix.columns for ix in self.indexes if ix.unique and not ix.where and not any(ix.expressions)]
        return any(key and {fold(c) for c in key} <= columns for key in keys)

    def indexes_leading_with(self, column: str) -> list[Index]:
        col = fold(column)
        return [ix for ix in self.all_indexes() if ix.columns and not ix.is_expression(0) and fold(ix.columns[0]) == col]

    def column_names(self) -> list[str]:
        """Column names in declaration order, as the loader spelled them (for star expansion, INSERT lists)."""
        return [column.name for column in self.columns.values()]

    def index(self, name: str) -> Index | None:
        folded = fold(name)
        return next((ix for ix in self.all_indexes() if fold(ix.name) == folded), None)

    def has_expression_index(self, sql_text: str, dialect: str = "postgres") -> bool:
        """Whether an index leads with this expression, compared after normalisation.

        ``lower(email)``, ``LOWER(Email)`` and the catalog's ``lower((email)::text)`` are the same.
        """
        from sqlperf.schema.normalize import normalize_expression

        wanted = normalize_expression(sql_text, dialect)
        return any(
            ix.columns and ix.is_expression(0) and normalize_expression(ix.columns[0]) == wanted
            for ix in self.all_indexes()
        )

    def indexes_containing(self, column: str) -> list[tuple[Index, int]]:
        """(index, position) for every index that lists ``column`` as a plain entry."""
        col = fold(column)
        found = []
        for ix in self.all_indexes():
            for position, entry in enumerate(ix.columns):
                if not ix.is_expression(position) and fold(entry) == col:
                    found.append((ix, position))
                    break
        return found


@dataclass
class Schema:
    tables: dict[str, Table] = field(default_factory=dict)  # keyed by folded "schema.name" and bare name
    notes: list[str] = field(default_factory=list)  # what a loader skipped, for --verbose

    def add_table(self, table: Table) -> None:
        self.tables[fold(table.name)] = table
        if table.schema:
            self.tables[fold(table.qualified_name)] = table

    def drop_table(self, name: str) -> None:
        table = self.table(name)
        if table is None:
            return
        for key in [k for k, v in self.tables.items() if v is table]:
            del self.tables[key]

    def table(self, name: str, schema: str | None = None) -> Table | None:
        if schema:
            found = self.tables.get(fold(f"{schema}.{name}"))
            if found is not None:
                return found
        return self.tables.get(fold(name))

    def find_index(self, name: str, schema: str | None = None) -> tuple[Table, Index] | None:
        """The table and declared index called ``name`` (index names are unique per schema in PostgreSQL)."""
        folded = fold(name)
        for table in self.unique_tables():
            if schema and table.schema and fold(table.schema) != fold(schema):
                continue
            for ix in table.indexes:
                if fold(ix.name) == folded:
                    return table, ix
        return None

    def unique_tables(self) -> list[Table]:
        seen: dict[int, Table] = {}
        for table in self.tables.values():
            seen.setdefault(id(table), table)
        return list(seen.values())

    def __bool__(self) -> bool:
        return bool(self.tables)
