"""Training and evaluating adapters, and their data. The product (assistant/, ui/) never imports this package."""
