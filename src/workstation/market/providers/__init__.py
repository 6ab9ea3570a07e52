"""Bar providers: each turns one vendor's data into a ``ProviderBatch`` of bar-frame rows."""
