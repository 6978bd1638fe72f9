-- athanor:revision 9813dfd33b05
-- athanor:message create users
-- athanor:transaction true

-- athanor:upgrade
CREATE TABLE users (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  email text NOT NULL UNIQUE,
  created_at timestamptz NOT NULL DEFAULT now()
);

-- athanor:downgrade
DROP TABLE users;
