"""``sqlperf report --demo``: a shop database with known problems, a workload, then the report.

The problems planted, each one a section of the report should show:

- a missing index: orders are looked up by customer and sorted by date (and counted by customer)
  with no index on ``orders.customer_id``;
- a non-sargable predicate: ``lower(email) = lower($1)`` cannot use the unique index on email;
- an unused index: ``customers_name_idx`` is never read;
- a duplicate index: ``orders_status_idx1`` repeats ``orders_status_idx``, and
  ``products_category_idx`` is a prefix of ``products_category_price_idx``;
- an unindexed foreign key: ``order_items.product_id`` (and ``orders.customer_id``).
"""

from __future__ import annotations

import random

SCHEMA = """
CREATE TABLE customers (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email text NOT NULL,
    name text NOT NULL,
    country text NOT NULL,
    created_at timestamptz NOT NULL
);
CREATE TABLE products (
    id integer PRIMARY KEY,
    sku text NOT NULL UNIQUE,
    name text NOT NULL,
    category text NOT NULL,
    price numeric(10, 2) NOT NULL
);
CREATE TABLE orders (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    customer_id bigint NOT NULL,
    status text NOT NULL,
    created_at timestamptz NOT NULL,
    total numeric(12, 2) NOT NULL
);
CREATE TABLE order_items (
    order_id bigint NOT NULL,
    line integer NOT NULL,
    product_id integer NOT NULL,
    quantity integer NOT NULL,
    PRIMARY KEY (order_id, line)
);
"""

DATA = """
INSERT INTO customers (email, name, country, created_at)
SELECT 'user' || g || '@example.com', 'Customer ' || g, (ARRAY['FR','DE','US','JP','BR'])[1 + g % 5],
       now() - (g % 1000) * interval '1 day'
FROM generate_series(1, {customers}) g;
INSERT INTO products (id, sku, name, category, price)
SELECT g, 'SKU-' || g, 'Product ' || g, 'category-' || (g % 40), (g % 500) + 0.99
FROM generate_series(1, {products}) g;
INSERT INTO orders (customer_id, status, created_at, total)
SELECT 1 + (g * 7919) % {customers},
       CASE WHEN g % 200 = 0 THEN 'refunded' WHEN g % 10 = 0 THEN 'pending' ELSE 'shipped' END,
       now() - (g % 720) * interval '1 hour', (g % 1000) + 0.5
FROM generate_series(1, {orders}) g;
INSERT INTO order_items (order_id, line, product_id, quantity)
SELECT o.id, l, 1 + (o.id * 31 + l) % {products}, 1 + l
FROM orders o, generate_series(1, 2) l;
"""

# Indexes and foreign keys after the data: one bulk check instead of one per inserted row.
INDEXES = """
CREATE UNIQUE INDEX customers_email_key ON customers (email);
CREATE INDEX customers_name_idx ON customers (name);
CREATE INDEX products_category_idx ON products (category);
CREATE INDEX products_category_price_idx ON products (category, price);
CREATE INDEX orders_status_idx ON orders (status);
CREATE INDEX orders_status_idx1 ON orders (status);
ALTER TABLE orders ADD FOREIGN KEY (customer_id) REFERENCES customers (id);
ALTER TABLE order_items ADD FOREIGN KEY (order_id) REFERENCES orders (id);
ALTER TABLE order_items ADD FOREIGN KEY (product_id) REFERENCES products (id);
ANALYZE;
"""

# (name, SQL with %s parameters, calls per unit of scale, parameter maker)
WORKLOAD = (
    ("recent orders of a customer",
     "SELECT id, status, total, created_at FROM orders WHERE customer_id = %s ORDER BY created_at DESC LIMIT 10",
     120, lambda r, n: (r.randint(1, n["customers"]),)),
    ("orders per customer",
     "SELECT count(*) FROM orders WHERE customer_id = %s", 60, lambda r, n: (r.randint(1, n["customers"]),)),
    ("login by email",
     "SELECT id, name FROM customers WHERE lower(email) = lower(%s)", 120,
     lambda r, n: (f"User{r.randint(1, n['customers'])}@Example.com",)),
    ("refunds",
     "SELECT count(*) FROM orders WHERE status = %s", 30, lambda r, n: ("refunded",)),
    ("category sales",
     "SELECT p.name, sum(oi.quantity) FROM order_items oi JOIN products p ON p.id = oi.product_id "
     "WHERE p.category = %s GROUP BY p.name", 6, lambda r, n: (f"category-{r.randint(0, 39)}",)),
    ("product page", "SELECT id, sku, name, price FROM products WHERE id = %s", 300,
     lambda r, n: (r.randint(1, n["products"]),)),
    ("ship an order", "UPDATE orders SET status = 'shipped' WHERE id = %s", 60, lambda r, n: (r.randint(1, n["orders"]),)),
)


def sizes(scale: float) -> dict[str, int]:
    return {
        "customers": max(1000, int(20_000 * scale)),
        "products": max(200, int(2_000 * scale)),
        "orders": max(5000, int(100_000 * scale)),
    }


def load_demo(dsn: str, scale: float = 1.0, *, extension: bool = True) -> dict[str, int]:
    """Create the demo schema with data in the (empty) database at ``dsn``.

    ``extension``: also CREATE EXTENSION pg_stat_statements (needs a superuser).
    """
    import psycopg

    n = sizes(scale)
    with psycopg.connect(dsn, autocommit=True) as conn:
        if extension:
            conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        conn.execute(SCHEMA)
        for statement in (DATA.format(**n) + INDEXES).split(";"):
            if statement.strip():
                conn.execute(statement)
    return n


def run_workload(dsn: str, scale: float = 1.0, seed: int = 7, *, reset: bool = True) -> dict[str, int]:
    """Reset the statistics (needs a superuser), then run the workload; returns the calls made per query name."""
    import psycopg

    n = sizes(scale)
    rng = random.Random(seed)
    calls: dict[str, int] = {}
    with psycopg.connect(dsn, autocommit=True) as conn:
        if reset:
            conn.execute("SELECT pg_stat_statements_reset()")
            conn.execute("SELECT pg_stat_reset()")
        plan = []
        for name, sql, per_scale, params in WORKLOAD:
            count = max(3, int(per_scale * max(scale, 0.1)))
            plan += [(name, sql, params)] * count
        rng.shuffle(plan)
        for name, sql, params in plan:
            conn.execute(sql, params(rng, n))
            calls[name] = calls.get(name, 0) + 1
    return calls


def run_demo(thresholds=None, *, scale: float = 1.0, progress=None, say=None):
    """Start an embedded PostgreSQL, load the demo, run the workload, return the report."""
    from sqlperf.dbreport.collect import build_report
    from sqlperf.embedded import EmbeddedPostgres

    say = say or (lambda message: None)
    say("starting an embedded PostgreSQL with pg_stat_statements ...")
    with EmbeddedPostgres(preload=("pg_stat_statements",)) as server:
        dsn = server.create_database("sqlperf_demo")
        say("creating the demo shop (customers, products, orders, order_items) ...")
        load_demo(dsn, scale)
        say("running a workload with known problems ...")
        run_workload(dsn, scale)
        say("collecting the report ...")
        # The demo database is sqlperf's own scratch server: candidate indexes may be built
        # for real inside rolled-back transactions, so the advice is verified without HypoPG.
        report = build_report(dsn, thresholds, whatif="build", progress=progress)
    report.database = "sqlperf demo (embedded PostgreSQL)"
    return report
