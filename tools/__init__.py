"""Tools that measure or show the product (benchmark, load test, demo, screenshots, ...): they import ui/,
assistant/ and models/; nothing imports them."""
