-- athanor:revision c9beb8063a61
-- athanor:down 298fbb91dafc
-- athanor:message add stock movements

-- athanor:upgrade
CREATE TABLE stock_movements (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  product_id bigint NOT NULL REFERENCES products (id),
  quantity integer NOT NULL,
  moved_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX stock_movements_product_id_idx ON stock_movements (product_id);

-- athanor:downgrade
DROP TABLE stock_movements;
