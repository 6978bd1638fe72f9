-- athanor:revision 059588002008
-- athanor:down 9813dfd33b05
-- athanor:message add orders
-- athanor:transaction true

-- athanor:upgrade
CREATE TABLE orders (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  user_id bigint NOT NULL REFERENCES users (id),
  total numeric(12, 2) NOT NULL
);
CREATE INDEX orders_user_id_idx ON orders (user_id);

-- athanor:downgrade
DROP TABLE orders;
