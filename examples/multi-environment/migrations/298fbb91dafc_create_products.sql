-- athanor:revision 298fbb91dafc
-- athanor:message create products

-- athanor:upgrade
CREATE TABLE products (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  name text NOT NULL,
  price numeric(10, 2) NOT NULL CHECK (price >= 0),
  created_at timestamptz NOT NULL DEFAULT now()
);

-- athanor:downgrade
DROP TABLE products;
