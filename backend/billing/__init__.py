"""Money: quotes with proration, orders, payments and refunds through a payment-provider interface."""
