"""Identity processor in Python: returns the exchange unchanged (the
per-exchange cost of a Python plugin, for benches/languages.rs)."""

import wit_world
from wit_world import exports


class WitWorld(wit_world.WitWorld):
    def init(self) -> None:
        pass

    def process(self, exchange):
        return exchange


class BodySource(exports.BodySource):
    def next(self, id: int, max: int):
        return None

    def cancel(self, id: int) -> None:
        pass
