"""Live market data from Alpaca's data stream, stored as it arrives and shared between processes.

One process per account holds the data connection (the *owner*: ``workstation feed run`` when it runs,
otherwise the window); it stores 1-minute and daily bars in market_data and announces them (market.notify).
Every other process consumes bars from the database. The pieces, each in its own module:

    events    the plain domain objects delivered to callers: StreamBar, StreamTrade, StreamQuote, FeedStatus
    protocol  Alpaca's wire format (messages, error codes, URLs), shared with the replay feed
    client    alpaca-py's StockDataStream in its own thread, with our connection lifecycle and back-off
    writer    the writer thread: bars from the stream into market_data in batches (≤ 1 s behind)
    backfill  the minutes missed while disconnected, from the historical bars endpoint
    lease     who owns the account's data connection (a lease row with a heartbeat)
    service   LiveFeed: all of the above for one process, as owner or as consumer
"""
