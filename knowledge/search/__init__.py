"""The search engine shared by the knowledge base and the customer name search."""
