-- athanor:revision 457fc56393df
-- athanor:message create products

-- athanor:upgrade
CREATE TABLE products (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  name text NOT NULL,
  price numeric(10, 2) NOT NULL CHECK (price >= 0)
);

-- athanor:downgrade
DROP TABLE products;
