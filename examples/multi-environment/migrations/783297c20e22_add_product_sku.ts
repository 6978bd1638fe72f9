// A TypeScript revision: schema change and data backfill in one transaction.
import { defineMigration } from "athanor";

export default defineMigration({
  revision: "783297c20e22",
  down: "c9beb8063a61",
  message: "add product sku",
  async upgrade({ sql }) {
    await sql`ALTER TABLE products ADD COLUMN sku text`;
    // Existing products get a SKU derived from their id; new ones must bring their own.
    await sql`UPDATE products SET sku = 'SKU-' || lpad(id::text, 6, '0') WHERE sku IS NULL`;
    await sql`ALTER TABLE products ALTER COLUMN sku SET NOT NULL`;
    await sql`ALTER TABLE products ADD CONSTRAINT products_sku_key UNIQUE (sku)`;
  },
  async downgrade({ sql }) {
    await sql`ALTER TABLE products DROP COLUMN sku`;
  },
});
