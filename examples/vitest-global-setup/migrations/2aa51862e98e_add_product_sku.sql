-- athanor:revision 2aa51862e98e
-- athanor:down 457fc56393df
-- athanor:message add product sku

-- athanor:upgrade
ALTER TABLE products ADD COLUMN sku text UNIQUE;

-- athanor:downgrade
ALTER TABLE products DROP COLUMN sku;
