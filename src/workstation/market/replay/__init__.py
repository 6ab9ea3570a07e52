"""The market replay: stored bars served over Alpaca's data-stream protocol, offline.

timeline  what a client hears, minute by minute: stored bars split into minute bars, and
          trades and quotes synthesized from them (labelled synthetic)
source    reading the stored bars to replay, in time order and in chunks
server    ReplayServer: the websocket server (one clock per client), in-process or from the CLI
"""
