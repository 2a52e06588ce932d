-- The `inventory` example database of the local stack, shaped like Debezium's
-- tutorial database (customers, addresses, orders, products, products_on_hand).
-- Loaded once by tests/stack when MariaDB's data directory is new.

CREATE DATABASE IF NOT EXISTS inventory CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
USE inventory;

CREATE TABLE products (
  id INTEGER NOT NULL AUTO_INCREMENT PRIMARY KEY,
  name VARCHAR(255) NOT NULL,
  description VARCHAR(512),
  weight FLOAT
) AUTO_INCREMENT = 101;

INSERT INTO products (name, description, weight) VALUES
  ('kick scooter', 'Folding kick scooter, aluminium frame', 4.2),
  ('bike lamp', 'USB rechargeable front lamp', 0.15),
  ('socket set', '40-piece metric socket set', 2.6),
  ('mallet', 'Rubber mallet, 16oz', 0.45),
  ('tape measure', '8 m tape measure', 0.3),
  ('work gloves', 'Pair of leather work gloves', 0.2),
  ('gravel', 'Bag of decorative gravel, 20 kg', 20.0),
  ('rain poncho', 'Reusable rain poncho, one size', 0.35),
  ('tyre pump', 'Foot pump with gauge', 1.9);

CREATE TABLE products_on_hand (
  product_id INTEGER NOT NULL PRIMARY KEY,
  quantity INTEGER NOT NULL,
  FOREIGN KEY (product_id) REFERENCES products (id)
);

INSERT INTO products_on_hand (product_id, quantity) VALUES
  (101, 6), (102, 25), (103, 9), (104, 14), (105, 30), (106, 0), (107, 60), (108, 12), (109, 7);

CREATE TABLE customers (
  id INTEGER NOT NULL AUTO_INCREMENT PRIMARY KEY,
  first_name VARCHAR(255) NOT NULL,
  last_name VARCHAR(255) NOT NULL,
  email VARCHAR(255) NOT NULL UNIQUE KEY
) AUTO_INCREMENT = 1001;

INSERT INTO customers (first_name, last_name, email) VALUES
  ('Ada', 'Moreau', 'ada.moreau@example.com'),
  ('Bilal', 'Okafor', 'bilal.okafor@example.net'),
  ('Chiara', 'Lindqvist', 'chiara@lindqvist.example'),
  ('Dmitri', 'Nakamura', 'dnakamura@example.org');

CREATE TABLE addresses (
  id INTEGER NOT NULL AUTO_INCREMENT PRIMARY KEY,
  customer_id INTEGER NOT NULL,
  street VARCHAR(255) NOT NULL,
  city VARCHAR(255) NOT NULL,
  state VARCHAR(255) NOT NULL,
  zip VARCHAR(255) NOT NULL,
  type ENUM ('SHIPPING', 'BILLING', 'LIVING') NOT NULL,
  FOREIGN KEY (customer_id) REFERENCES customers (id)
) AUTO_INCREMENT = 10;

INSERT INTO addresses (customer_id, street, city, state, zip, type) VALUES
  (1001, '12 Harbour Lane', 'Portland', 'Maine', '04101', 'SHIPPING'),
  (1001, '400 Elm Street', 'Burlington', 'Vermont', '05401', 'BILLING'),
  (1002, '77 Canal Road', 'Savannah', 'Georgia', '31401', 'BILLING'),
  (1003, '9 Orchard Way', 'Boise', 'Idaho', '83702', 'SHIPPING'),
  (1003, '1510 Mill Creek Drive', 'Eugene', 'Oregon', '97401', 'SHIPPING'),
  (1003, '63 Prairie Court', 'Lincoln', 'Nebraska', '68508', 'BILLING'),
  (1004, '2 Summit Terrace', 'Flagstaff', 'Arizona', '86001', 'LIVING');

CREATE TABLE orders (
  order_number INTEGER NOT NULL AUTO_INCREMENT PRIMARY KEY,
  order_date DATE NOT NULL,
  purchaser INTEGER NOT NULL,
  quantity INTEGER NOT NULL,
  product_id INTEGER NOT NULL,
  FOREIGN KEY order_customer (purchaser) REFERENCES customers (id),
  FOREIGN KEY ordered_product (product_id) REFERENCES products (id)
) AUTO_INCREMENT = 10001;

INSERT INTO orders (order_date, purchaser, quantity, product_id) VALUES
  ('2024-03-02', 1001, 1, 102),
  ('2024-03-05', 1002, 3, 105),
  ('2024-04-11', 1002, 1, 106),
  ('2024-04-20', 1003, 2, 107);
