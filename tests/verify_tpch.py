"""A TPC-H-like schema with generated data, shared by the verification tests and bench.

Table shapes and column names follow TPC-H; sizes are scaled down so a test session builds
it in a few seconds (customer 15,000, orders 150,000, part 20,000 rows; nation 25, region 5).
"""

TPCH_DDL = """
CREATE TABLE region (r_regionkey integer PRIMARY KEY, r_name char(25) NOT NULL, r_comment varchar(152));
CREATE TABLE nation (n_nationkey integer PRIMARY KEY, n_name char(25) NOT NULL,
                     n_regionkey integer NOT NULL REFERENCES region, n_comment varchar(152));
CREATE TABLE customer (c_custkey integer PRIMARY KEY, c_name varchar(25) NOT NULL, c_address varchar(40) NOT NULL,
                       c_nationkey integer NOT NULL REFERENCES nation, c_phone char(15) NOT NULL,
                       c_acctbal numeric(15,2) NOT NULL, c_mktsegment char(10) NOT NULL, c_comment varchar(117) NOT NULL);
CREATE TABLE part (p_partkey integer PRIMARY KEY, p_name varchar(55) NOT NULL, p_brand char(10) NOT NULL,
                   p_type varchar(25) NOT NULL, p_size integer NOT NULL, p_retailprice numeric(15,2) NOT NULL);
CREATE TABLE orders (o_orderkey integer PRIMARY KEY, o_custkey integer NOT NULL REFERENCES customer,
                     o_orderstatus char(1) NOT NULL, o_totalprice numeric(15,2) NOT NULL, o_orderdate date NOT NULL,
                     o_orderpriority char(15) NOT NULL, o_clerk char(15) NOT NULL, o_comment varchar(79) NOT NULL);
CREATE INDEX orders_custkey_idx ON orders (o_custkey);
"""

TPCH_DATA = """
-- Autovacuum would mark pages all-visible at a moment of its choosing, and an index-only scan
-- then changes which what-if indexes pay off: keep the tables as loaded, so plans repeat.
ALTER TABLE region SET (autovacuum_enabled = false);
ALTER TABLE nation SET (autovacuum_enabled = false);
ALTER TABLE customer SET (autovacuum_enabled = false);
ALTER TABLE part SET (autovacuum_enabled = false);
ALTER TABLE orders SET (autovacuum_enabled = false);
INSERT INTO region SELECT g - 1, (ARRAY['AFRICA','AMERICA','ASIA','EUROPE','MIDDLE EAST'])[g], 'region ' || g
  FROM generate_series(1, 5) g;
INSERT INTO nation SELECT g - 1, 'NATION' || g, (g - 1) % 5, 'nation ' || g FROM generate_series(1, 25) g;
INSERT INTO customer SELECT g, 'Customer#' || lpad(g::text, 9, '0'), md5(g::text), g % 25,
       lpad((g % 1000)::text, 15, '0'), (g % 10000) - 999.99,
       (ARRAY['AUTOMOBILE','BUILDING','FURNITURE','HOUSEHOLD','MACHINERY'])[1 + g % 5], md5((g * 7)::text)
  FROM generate_series(1, 15000) g;
INSERT INTO part SELECT g, 'part ' || md5(g::text), 'Brand#' || (1 + g % 55), 'TYPE ' || (g % 150), 1 + g % 50,
       900 + (g % 1000) FROM generate_series(1, 20000) g;
INSERT INTO orders SELECT g, 1 + (g * 7919) % 15000, (ARRAY['F','O','P'])[1 + g % 3], 1000 + (g * 31) % 500000,
       date '1992-01-01' + (g % 2400), (ARRAY['1-URGENT','2-HIGH','3-MEDIUM','4-NOT SPECIFIED','5-LOW'])[1 + g % 5],
       'Clerk#' || lpad((g % 1000)::text, 9, '0'), md5((g * 3)::text)
  FROM generate_series(1, 150000) g;
ANALYZE;
"""


def load_tpch(dsn: str) -> None:
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as conn:
        exists = conn.execute("SELECT to_regclass('orders') IS NOT NULL").fetchone()[0]
        if not exists:
            conn.execute(TPCH_DDL)
            conn.execute(TPCH_DATA)
