"""A small, deterministic TPC-DS data set: all 24 tables, pure Python, no network.

``generate(rows, seed)`` returns every table's rows (tuples in the column order of
:mod:`tests.spark.tpcds.schema`); ``create_tables(spark, rows=...)`` writes them as Parquet
tables of the database ``tpcds``. The same ``rows`` and ``seed`` always give the same data.
With the default ``rows=1000``: 1,000 store_sales lines, about 670 catalog_sales and web_sales
lines, 200-290 returns of each channel, 1,000 inventory rows, and dimensions of 4 to 140 rows
(``date_dim`` 1,826 days, ``time_dim`` 288 five-minute steps); generating takes about 0.1 s,
writing the Parquet tables a few seconds to half a minute (24 small Spark jobs).

How values are chosen, so that the queries' typical predicates hit rows:

- ``date_dim`` is the whole calendar 1998-01-01 .. 2002-12-31 with dsdgen's surrogate keys
  (``d_date_sk`` 2450815 is 1998-01-01), ``d_month_seq`` 1200 = January 2000, Sunday-based
  ``d_week_seq``, ``d_dow`` 0 = Sunday and ``d_quarter_name`` like ``2001Q1``.
- Sale dates come four fifths from *hot windows* (the months, quarters and day ranges the
  queries filter on: November 1998-2001, 1999-02-22 + 30 days, 2000-03-11 +/- 30 days, 2001 Q2
  ...) and the rest from the whole calendar. Returns follow their sale by 1-120 days.
- Every foreign key is drawn from the referenced dimension's keys (a few percent are NULL
  where queries test ``IS NULL``). Store tickets and web/catalog orders have several lines
  (some tickets 15-19 lines, some orders with lines from different warehouses), returns copy
  their sale's item, ticket or order, customer and store, and 40% of catalog and web
  orders repeat a store ticket's customer, day and items, so cross-channel joins and
  INTERSECTs find matches. Half of the facts' demographics are the customer's current ones, a
  third of the rest one of the (marital status, education) pairs the queries name; the big
  tickets mostly fall on the days and households q34 counts.
- Dimension value domains are the queries' literals: states (TN, GA, TX, ...), counties
  (Williamson County, ...), cities (Fairview, Midway, Edgewood), categories, classes and brands
  (plus items built as the exact category/class/brand combinations q53, q63 and q89 ask for),
  colours, units, sizes, manufacturer and manager ids, genders M/F, marital status S/M/D/W/U,
  the seven education levels, buy potentials, store names (``ese`` ...), carriers DHL and BARIAN,
  ``reason 1`` .. ``reason 35``, GMT offsets -5 and -7, and so on.
- ``inventory`` holds weekly snapshots; a few (item, warehouse) pairs get strongly varying
  quantities in January and February 2001 (q39 looks for a coefficient of variation > 1).
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any

from tests.spark.tpcds.schema import DATABASE, TABLES

__all__ = ["FIRST_DAY", "LAST_DAY", "create_tables", "date_sk", "generate"]

#: The calendar of ``date_dim``.
FIRST_DAY = dt.date(1998, 1, 1)
LAST_DAY = dt.date(2002, 12, 31)
_SK_1900_01_02 = 2415022  # dsdgen's d_date_sk of 1900-01-02 (a Julian day number)
_CENT = Decimal("0.01")
#: Share of sale dates drawn from the hot windows, of returns among sales lines, and of web and
#: catalog orders that repeat a store ticket's customer, day and items.
_HOT_SHARE = 0.8
_RETURN_SHARE = 0.3
_CROSS_CHANNEL_SHARE = 0.4
#: (marital status, education) pairs the queries ask for; a third of the facts' demographics are one of them.
_HOT_DEMOGRAPHICS = (
    ("S", "College"), ("M", "Advanced Degree"), ("W", "2 yr Degree"), ("M", "4 yr Degree"), ("D", "2 yr Degree"),
    ("M", "Unknown"), ("W", "Advanced Degree"), ("D", "Primary"),
)  # fmt: skip

#: Date ranges the queries filter on; most sale dates fall into one of them.
_HOT_WINDOWS: tuple[tuple[dt.date, dt.date], ...] = tuple(
    (dt.date(*a), dt.date(*b))
    for a, b in (
        ((1998, 4, 1), (1998, 6, 30)),  # q8 (1998 Q2), q33 (May 1998)
        ((1998, 9, 1), (1998, 9, 30)),  # q60
        ((1998, 11, 1), (1998, 12, 31)),  # q19, q61, q91, q54
        ((1999, 2, 1), (1999, 4, 1)),  # q12, q20, q98 (1999-02-22 + 30 days), q94, q95 (ship dates)
        ((1999, 9, 1), (1999, 12, 31)),  # q29, q55, q71 (November 1999)
        ((2000, 1, 1), (2000, 4, 30)),  # q6, q21, q23, q32, q37, q40, q58, q92
        ((2000, 5, 25), (2000, 7, 24)),  # q82, q83
        ((2000, 8, 1), (2000, 9, 30)),  # q5, q77, q80, q83
        ((2000, 11, 1), (2000, 12, 31)),  # q3, q14b, q42, q52, q83
        ((2001, 1, 1), (2001, 6, 30)),  # q15, q17, q25, q45, q56, q69, q39 (Jan/Feb)
        ((2001, 8, 1), (2001, 8, 31)),  # q50
        ((2001, 11, 1), (2001, 12, 31)),  # q14a, q49
        ((2002, 1, 1), (2002, 4, 30)),  # q10, q16 (ship dates)
    )
)

_DAY_NAMES = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")
_STATES = ("TN", "TN", "TN", "GA", "GA", "TX", "TX", "OH", "KY", "NM", "VA", "MS", "IN", "ND", "OK", "CA")
_STATES += ("WA", "IL", "IL", "CO", "OR", "MN", "WI", "CT", "LA", "IA", "AR", "NJ")
_COUNTIES = (
    "Williamson County", "Williamson County", "Rush County", "Toole County", "Jefferson County",
    "Dona Ana County", "La Porte County", "Franklin Parish", "Bronx County", "Orange County", "Ziebach County",
)  # fmt: skip
_CITIES = ("Fairview", "Midway", "Edgewood", "Oak Grove", "Five Points", "Pleasant Hill", "Riverside")
_ZIPS = (
    "24128", "76232", "65084", "87816", "83926", "77556", "20548", "85669", "86197", "88274", "83405",
    "86475", "85392", "85460", "80348", "81792", "35709", "31904", "37411", "38127", "30411",
)  # fmt: skip
_STREET_NAMES = ("Main", "Oak", "Park", "Elm", "Lake", "Hill", "Cedar", "Sunset", "Railroad", "First")
_STREET_TYPES = ("Street", "Ave", "Blvd", "Road", "Lane", "Court", "Way", "Circle")
_LOCATION_TYPES = ("apartment", "condo", "single family")
_FIRST_NAMES = ("James", "Mary", "John", "Linda", "Robert", "Susan", "David", "Karen", "Maria", "Jose")
_FIRST_NAMES += ("Anna", "Peter", "Laura", "Mark", "Emma")
_LAST_NAMES = ("Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Lopez")
_LAST_NAMES += ("Wilson", "Moore", "Taylor", "Thomas", "White", "Harris", "Clark", "Lewis", "Young")
_SALUTATIONS = ("Mr.", "Mrs.", "Ms.", "Dr.", "Sir", "Miss")
_COUNTRIES = ("UNITED STATES",) * 6 + ("CANADA", "MEXICO", "GERMANY", "JAPAN")
_GENDERS = ("M", "F")
_MARITAL = ("S", "M", "D", "W", "U")
_EDUCATION = ("Primary", "Secondary", "College", "2 yr Degree", "4 yr Degree", "Advanced Degree", "Unknown")
_CREDIT = ("Good", "High Risk", "Low Risk", "Unknown")
_BUY_POTENTIAL = (">10000", "5001-10000", "1001-5000", "501-1000", "0-500", "Unknown", "unknown")
#: category -> its classes (the queries' classes first); category ids are positions + 1.
_CATEGORIES: dict[str, tuple[str, ...]] = {
    "Books": ("personal", "reference", "self-help", "computers", "cooking", "fiction"),
    "Children": ("portable", "infants", "toddlers", "school-uniforms"),
    "Electronics": ("stereo", "portable", "personal", "reference", "televisions"),
    "Home": ("furniture", "bedding", "decor", "kids"),
    "Jewelry": ("birdal", "rings", "bracelets", "estate"),
    "Men": ("shirts", "pants", "fragrances", "accessories"),
    "Music": ("classical", "rock", "pop", "country"),
    "Shoes": ("athletic", "mens", "womens", "kids"),
    "Sports": ("football", "golf", "tennis", "baseball"),
    "Women": ("dresses", "maternity", "accessories", "fragrances", "pants"),
}
_BRANDS = (
    "scholaramalgamalg #14", "scholaramalgamalg #7", "exportiunivamalg #9", "scholaramalgamalg #9",
    "amalgimporto #1", "edu packscholar #1", "exportiimporto #1", "importoamalg #1", "corpbrand #4",
    "brandbrand #2", "univunivamalg #3", "maxinameless #6",
)  # fmt: skip
_COLORS = (
    "powder", "khaki", "brown", "honeydew", "floral", "deep", "light", "cornflower", "midnight", "snow", "cyan",
    "papaya", "orange", "frosted", "forest", "ghost", "purple", "burlywood", "indian", "spring", "medium",
    "pale", "chiffon", "slate", "blanched", "burnished",
)  # fmt: skip
_UNITS = ("Ounce", "Oz", "Bunch", "Ton", "N/A", "Dozen", "Box", "Pound", "Pallet", "Gross", "Cup", "Dram")
_UNITS += ("Each", "Tbl", "Lb", "Bundle")
_SIZES = ("medium", "extra large", "N/A", "small", "petite", "large")
_MANUFACT_IDS = (128, 977, 350, 677, 940, 694, 808, 129, 270, 821, 423, 738, 750, 760, 778)
_MANAGER_IDS = (1, 1, 1, 8, 8, 28, 28)
_STORE_NAMES = ("ese", "ought", "able", "anti", "bar", "cally", "eing", "ation")
_CARRIERS = (
    "DHL", "BARIAN", "UPS", "FEDEX", "AIRBORNE", "USPS", "TBS", "ZHOU", "ZOUROS", "MSC", "LATVIAN", "ALLIANCE",
    "ORIENTAL", "BOXBUNDLES", "GREAT EASTERN", "DIAMOND", "RUPEKSA", "GERMA", "HARMSTORF", "PRIVATECARRIER",
)  # fmt: skip
_SHIP_TYPES = ("EXPRESS", "NEXT DAY", "OVERNIGHT", "TWO DAY", "LIBRARY", "REGULAR")
#: Items built as exact combinations the queries ask for (the other columns are drawn as usual).
_ARCHETYPES: tuple[dict[str, Any], ...] = (
    {"category": "Books", "class": "personal", "brand": "scholaramalgamalg #14"},  # q53, q63
    {"category": "Children", "class": "portable", "brand": "scholaramalgamalg #7"},
    {"category": "Electronics", "class": "reference", "brand": "exportiunivamalg #9"},
    {"category": "Books", "class": "self-help", "brand": "scholaramalgamalg #9"},
    {"category": "Women", "class": "accessories", "brand": "amalgimporto #1"},
    {"category": "Music", "class": "classical", "brand": "edu packscholar #1"},
    {"category": "Men", "class": "fragrances", "brand": "exportiimporto #1"},
    {"category": "Women", "class": "pants", "brand": "importoamalg #1"},
    {"category": "Books", "class": "computers"},  # q89
    {"category": "Electronics", "class": "stereo"},
    {"category": "Sports", "class": "football"},
    {"category": "Men", "class": "shirts"},
    {"category": "Jewelry", "class": "birdal"},
    {"category": "Women", "class": "dresses"},
    {"category": "Women", "class": "maternity"},  # q54
    # q41: an item of manufacturer 750 and one of the same i_manufact in a listed combination
    {"manufact_id": 750, "manufact": "ableought"},
    {"category": "Women", "color": "powder", "units": "Ounce", "size": "medium", "manufact": "ableought"},
    {"category": "Men", "color": "floral", "units": "N/A", "size": "petite", "manufact": "ableought"},
    {"color": "purple", "price": "66.50"},  # q64
    {"color": "pale"},  # q24a
    {"color": "chiffon"},  # q24b
    {"color": "slate"},  # q56
    {"manufact_id": 677, "price": "70.00"},  # q37
    {"manufact_id": 129, "price": "65.00"},  # q82
    {"price": "1.20"},  # q21, q40
    {"manufact_id": 128, "manager_id": 8},  # q3, q19
    {"manufact_id": 977},  # q32
    {"manufact_id": 350},  # q92
    {"category": "Jewelry", "manager_id": 1},  # q61, q42
    {"category": "Music", "manager_id": 28},  # q60, q55
    {"category": "Electronics", "manager_id": 1},  # q33
)


def date_sk(day: dt.date) -> int:
    """dsdgen's ``d_date_sk`` of ``day``."""
    return _SK_1900_01_02 + (day - dt.date(1900, 1, 2)).days


def _money(value: float) -> Decimal:
    return Decimal(str(round(value, 2))).quantize(_CENT)


def _week_seq(day: dt.date) -> int:
    return ((day - dt.date(1900, 1, 1)).days + 1) // 7 + 1


class _Generator:
    """Draws every table in a fixed order from one seeded ``random.Random``."""

    def __init__(self, rows: int, seed: int) -> None:
        self.rng = random.Random(seed)
        self.rows = rows
        self.days = [FIRST_DAY + dt.timedelta(days=i) for i in range((LAST_DAY - FIRST_DAY).days + 1)]
        self.tables: dict[str, list[tuple[Any, ...]]] = {}

    # --- helpers ------------------------------------------------------------------------

    def pick(self, values: Sequence[Any]) -> Any:
        return values[self.rng.randrange(len(values))]

    def maybe(self, value: Any, null_share: float) -> Any:
        return None if self.rng.random() < null_share else value

    def sale_day(self) -> dt.date:
        if self.rng.random() < _HOT_SHARE:
            start, end = self.pick(_HOT_WINDOWS)
            return start + dt.timedelta(days=self.rng.randrange((end - start).days + 1))
        return self.pick(self.days)

    def later(self, day: dt.date, low: int, high: int) -> dt.date:
        return min(LAST_DAY, day + dt.timedelta(days=self.rng.randint(low, high)))

    def time_sk(self) -> int:
        return self.pick(self.time_keys)

    def key(self, table: str) -> int:
        return self.rng.randint(1, len(self.tables[table]))

    def cdemo(self, customer: int | None) -> int:
        """A fact's customer demographics: often the customer's own, or a pair the queries name."""
        if customer is not None and self.rng.random() < 0.5:
            return self.tables["customer"][customer - 1][2]
        if self.rng.random() < 1 / 3:
            return self.pick(self.hot_cdemo)
        return self.key("customer_demographics")

    def hdemo(self, customer: int | None) -> int:
        """A fact's household demographics: half the time the customer's own."""
        if customer is not None and self.rng.random() < 0.5:
            return self.tables["customer"][customer - 1][3]
        return self.key("household_demographics")

    def line_amounts(self, quantity: int) -> dict[str, Decimal]:
        """Prices and amounts of one sales line, related as dsdgen relates them."""
        wholesale = self.rng.uniform(1, 100)
        list_price = wholesale * (1 + self.rng.uniform(0, 2))
        sales_price = list_price * self.rng.uniform(0.2, 1)
        ext_sales = sales_price * quantity
        ext_wholesale = wholesale * quantity
        tax = ext_sales * self.rng.choice((0, 0.03, 0.05, 0.07, 0.09))
        coupon = ext_sales * self.rng.uniform(0, 0.5) if self.rng.random() < 0.3 else 0.0
        ship = list_price * quantity * self.rng.uniform(0, 0.5)
        net_paid = ext_sales - coupon
        return {
            "wholesale": _money(wholesale),
            "list": _money(list_price),
            "sales": _money(sales_price),
            "ext_discount": _money((list_price - sales_price) * quantity),
            "ext_sales": _money(ext_sales),
            "ext_wholesale": _money(ext_wholesale),
            "ext_list": _money(list_price * quantity),
            "ext_tax": _money(tax),
            "coupon": _money(coupon),
            "ext_ship": _money(ship),
            "net_paid": _money(net_paid),
            "net_paid_inc_tax": _money(net_paid + tax),
            "net_paid_inc_ship": _money(net_paid + ship),
            "net_paid_inc_ship_tax": _money(net_paid + ship + tax),
            "net_profit": _money(net_paid - ext_wholesale),
        }

    def return_amounts(self, sales_price: Decimal, quantity: int) -> dict[str, Decimal]:
        amount = float(sales_price) * quantity
        tax = amount * self.rng.choice((0, 0.05, 0.08))
        fee = self.rng.uniform(0.5, 100)
        ship = amount * self.rng.uniform(0, 0.2)
        cash = amount * self.rng.uniform(0, 1)
        charge = (amount - cash) * self.rng.uniform(0, 1)
        credit = amount - cash - charge
        return {
            "amt": _money(amount),
            "tax": _money(tax),
            "amt_inc_tax": _money(amount + tax),
            "fee": _money(fee),
            "ship": _money(ship),
            "cash": _money(cash),
            "charge": _money(charge),
            "credit": _money(credit),
            "net_loss": _money(ship + fee + tax + amount * self.rng.uniform(0, 0.3)),
        }

    # --- dimensions ---------------------------------------------------------------------

    def date_dim(self) -> None:
        rows = []
        for day in self.days:
            sk = date_sk(day)
            qoy = (day.month - 1) // 3 + 1
            dow = (day.weekday() + 1) % 7
            first = day.replace(day=1)
            last = (first + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
            rows.append((
                sk, f"AAAAAAAA{sk:08d}", day, (day.year - 1900) * 12 + day.month - 1, _week_seq(day),
                (day.year - 1900) * 4 + qoy, day.year, dow, day.month, day.day, qoy, day.year,
                (day.year - 1900) * 4 + qoy, _week_seq(day), _DAY_NAMES[dow], f"{day.year}Q{qoy}",
                "Y" if (day.month, day.day) in ((1, 1), (7, 4), (12, 25)) else "N", "Y" if dow in (0, 6) else "N",
                "N", date_sk(first), date_sk(last), sk - 365, sk - 91, "N", "N", "N", "N", "N",
            ))  # fmt: skip
        self.tables["date_dim"] = rows

    def time_dim(self) -> None:
        rows = []
        for sk in range(0, 86400, 300):
            hour, minute = divmod(sk // 60, 60)
            meal = (
                "breakfast"
                if 6 <= hour <= 9
                else "lunch"
                if 11 <= hour <= 13
                else "dinner"
                if 17 <= hour <= 20
                else None
            )
            shift = ("third", "first", "second")[hour // 8]
            sub = ("night", "morning", "afternoon", "evening")[hour // 6]
            rows.append((sk, f"AAAAAAAA{sk:08d}", sk, hour, minute, 0, "AM" if hour < 12 else "PM", shift, sub, meal))
        self.tables["time_dim"] = rows
        self.time_keys = [r[0] for r in rows]

    def income_band(self) -> None:
        self.tables["income_band"] = [(i, 0 if i == 1 else (i - 1) * 10000 + 1, i * 10000) for i in range(1, 21)]

    def household_demographics(self) -> None:
        rows = [
            (sk, self.rng.randint(1, 20), self.pick(_BUY_POTENTIAL), self.rng.randint(0, 9), self.rng.randint(-1, 4))
            for sk in range(1, 121)
        ]
        self.tables["household_demographics"] = rows
        # q34, q73: big baskets of households with high buying potential and more dependants than vehicles
        self.basket_hdemo = [
            r[0] for r in rows if r[2] in (">10000", "unknown") and r[4] > 0 and r[3] / r[4] > 1.2
        ] or [1]
        self.basket_days = [d for d in self.days if 1999 <= d.year <= 2001 and (d.day <= 3 or 25 <= d.day <= 28)]

    def customer_demographics(self) -> None:
        rows = []
        for _copy in range(2):
            for gender in _GENDERS:
                for marital in _MARITAL:
                    for education in _EDUCATION:
                        rows.append((
                            len(rows) + 1, gender, marital, education, self.rng.randrange(500, 10001, 500),
                            self.pick(_CREDIT), self.rng.randint(0, 6), self.rng.randint(0, 6), self.rng.randint(0, 6),
                        ))  # fmt: skip
        self.tables["customer_demographics"] = rows
        self.hot_cdemo = [r[0] for r in rows if (r[2], r[3]) in _HOT_DEMOGRAPHICS]

    def customer_address(self) -> None:
        rows = []
        for sk in range(1, 81):
            zip_code = self.pick(_ZIPS) if self.rng.random() < 0.7 else f"{self.rng.randint(10000, 99999)}"
            offset = Decimal(self.pick(("-5.00", "-5.00", "-6.00", "-7.00", "-8.00")))
            rows.append((
                sk, f"AAAAAAAA{sk:08d}", str(self.rng.randint(1, 999)), self.pick(_STREET_NAMES),
                self.pick(_STREET_TYPES), f"Suite {self.rng.randint(0, 400)}", self.pick(_CITIES),
                self.pick(_COUNTIES), self.pick(_STATES), zip_code, "United States", offset, self.pick(_LOCATION_TYPES),
            ))  # fmt: skip
        self.tables["customer_address"] = rows

    def customer(self) -> None:
        rows = []
        for sk in range(1, 101):
            first, last = self.pick(_FIRST_NAMES), self.pick(_LAST_NAMES)
            rows.append((
                sk, f"AAAAAAAA{sk:08d}", self.key("customer_demographics"), self.key("household_demographics"),
                self.key("customer_address"), date_sk(self.pick(self.days)), date_sk(self.pick(self.days)),
                self.pick(_SALUTATIONS), first, last, self.pick(("Y", "N")), self.rng.randint(1, 28),
                self.rng.randint(1, 12), self.rng.randint(1924, 1992), self.pick(_COUNTRIES), None,
                f"{first}.{last}{sk}@example.com", date_sk(self.pick(self.days)),
            ))  # fmt: skip
        self.tables["customer"] = rows

    def item(self) -> None:
        rows = []
        names = list(_CATEGORIES)
        plans = list(_ARCHETYPES) * 2 + [{}] * 18
        for sk, plan in enumerate(plans, 1):
            category = plan.get("category") or self.pick(names)
            classes = _CATEGORIES[category]
            klass = plan.get("class") or self.pick(classes)
            brand = plan.get("brand") or self.pick(_BRANDS)
            manufact_id = plan.get("manufact_id") or (
                self.pick(_MANUFACT_IDS) if self.rng.random() < 0.5 else self.rng.randint(1, 1000)
            )
            band = self.rng.random()
            if plan.get("price"):
                price = Decimal(plan["price"])
            elif band < 0.15:
                price = _money(self.rng.uniform(0.99, 1.49))
            elif band < 0.4:
                price = _money(self.rng.uniform(62, 98))
            else:
                price = _money(self.rng.uniform(1, 60))
            manager = plan.get("manager_id") or (
                self.pick(_MANAGER_IDS) if self.rng.random() < 0.5 else self.rng.randint(1, 100)
            )
            manufact = plan.get("manufact") or ("ought", "able", "pri", "ese", "anti")[manufact_id % 5] + "ought"
            rows.append((
                sk, f"AAAAAAAA{sk:08d}", dt.date(1997, 10, 27), None, f"Item {sk}: {klass} from {category}", price,
                _money(float(price) * self.rng.uniform(0.3, 0.8)), 1001001 + _BRANDS.index(brand), brand,
                classes.index(klass) + 1, klass, names.index(category) + 1, category, manufact_id, manufact,
                plan.get("size") or self.pick(_SIZES), f"{self.rng.randint(0, 10**9):010d}",
                plan.get("color") or self.pick(_COLORS), plan.get("units") or self.pick(_UNITS), "Unknown", manager,
                f"product{sk}",
            ))  # fmt: skip
        self.tables["item"] = rows

    def store(self) -> None:
        rows = []
        zips = [r[9] for r in self.tables["customer_address"]]
        for sk in range(1, 13):
            state = self.pick(("TN", "TN", "TN", "GA", "TX"))
            county = "Williamson County" if sk % 3 else self.pick(("Franklin Parish", "Bronx County", "Orange County"))
            rows.append((
                sk, f"AAAAAAAA{sk:08d}", dt.date(1997, 3, 13), None, None, _STORE_NAMES[sk % len(_STORE_NAMES)],
                self.rng.randint(200, 300), self.rng.randint(5_000_000, 10_000_000), "8AM-4PM", "Manager",
                self.pick((8, 8, 2, 5)), "Unknown", "Market", "Market Manager", 1, "Unknown", 1, "Unknown",
                str(self.rng.randint(1, 999)), self.pick(_STREET_NAMES), self.pick(_STREET_TYPES), "Suite 100",
                self.pick(("Fairview", "Fairview", "Midway")), county, state, self.pick(zips), "United States",
                Decimal("-5.00") if sk % 4 else Decimal("-6.00"), Decimal("0.03"),
            ))  # fmt: skip
        self.tables["store"] = rows

    def call_center(self) -> None:
        names = ("NY Metro", "Mid Atlantic", "North Midwest", "Pacific Northwest")
        rows = []
        for sk in range(1, 5):
            manager = self.pick(("Bob Belcher", "Felipe Perkins", "Mark Hightower"))
            county = "Williamson County" if sk < 4 else "Ziebach County"
            rows.append((
                sk, f"AAAAAAAA{sk:08d}", dt.date(1998, 1, 1), None, None, date_sk(FIRST_DAY), names[sk - 1], "large",
                100 * sk, 10000 * sk, "8AM-4PM", manager, sk, "class", "desc", "Julius Durham", 1, "pri", 1, "pri",
                "1", "Main", "Street", "Suite 1", "Midway", county, "TN", "31904", "United States", Decimal("-5.00"),
                Decimal("0.11"),
            ))  # fmt: skip
        self.tables["call_center"] = rows

    def catalog_page(self) -> None:
        rows = []
        for sk in range(1, 21):
            kind = self.pick(("bi-annual", "quarterly", "monthly"))
            rows.append((
                sk, f"AAAAAAAA{sk:08d}", date_sk(FIRST_DAY), date_sk(LAST_DAY), "DEPARTMENT", 1 + sk // 10, sk,
                f"page {sk}", kind,
            ))  # fmt: skip
        self.tables["catalog_page"] = rows

    def web_site(self) -> None:
        companies = ("pri", "ese", "pri", "able")
        rows = []
        for sk in range(1, 5):
            rows.append((
                sk, f"AAAAAAAA{sk:08d}", dt.date(1997, 8, 16), None, f"site_{sk - 1}", date_sk(FIRST_DAY), None,
                "Unknown", "Manager", sk, "class", "desc", "Market Manager", sk, companies[sk - 1], "1", "Main",
                "Street", "Suite 1", "Midway", "Williamson County", "TN", "31904", "United States", Decimal("-5.00"),
                Decimal("0.05"),
            ))  # fmt: skip
        self.tables["web_site"] = rows

    def web_page(self) -> None:
        rows = []
        for sk in range(1, 13):
            flag, kind = self.pick(("Y", "N")), self.pick(("welcome", "ad", "feedback"))
            chars = self.rng.randint(5000, 5200) if sk % 2 else self.rng.randint(1000, 8000)
            rows.append((
                sk, f"AAAAAAAA{sk:08d}", dt.date(1997, 9, 3), None, date_sk(FIRST_DAY), date_sk(FIRST_DAY), flag,
                None, "http://www.foo.com", kind, chars, self.rng.randint(2, 25), self.rng.randint(1, 7),
                self.rng.randint(0, 4),
            ))  # fmt: skip
        self.tables["web_page"] = rows

    def warehouse(self) -> None:
        names = ("Conventional childr", "Important issues liv", "Doors canno", "Bad cards must make.", "Quite able")
        rows = []
        for sk in range(1, 6):
            size, state = self.rng.randint(50_000, 1_000_000), self.pick(("TN", "GA", "TX"))
            rows.append((
                sk, f"AAAAAAAA{sk:08d}", names[sk - 1], size, "1", "Main", "Street", "Suite 1", "Fairview",
                "Williamson County", state, "35709", "United States", Decimal("-5.00"),
            ))  # fmt: skip
        self.tables["warehouse"] = rows

    def promotion(self) -> None:
        rows = []
        for sk in range(1, 21):
            item, name = self.key("item"), self.pick(("ought", "able", "pri", "ese"))
            channels = [self.pick(("Y", "N")) for _ in range(8)]  # dmail, email, catalog, tv, radio, press, event, demo
            rows.append((
                sk, f"AAAAAAAA{sk:08d}", date_sk(FIRST_DAY), date_sk(LAST_DAY), item, Decimal("1000.00"), 1, name,
                *channels, "details", "Unknown", "N",
            ))  # fmt: skip
        self.tables["promotion"] = rows

    def reason(self) -> None:
        self.tables["reason"] = [(sk, f"AAAAAAAA{sk:08d}", f"reason {sk}") for sk in range(1, 36)]

    def ship_mode(self) -> None:
        self.tables["ship_mode"] = [
            (sk, f"AAAAAAAA{sk:08d}", _SHIP_TYPES[sk % len(_SHIP_TYPES)], "AIR", _CARRIERS[sk - 1], f"contract{sk}")
            for sk in range(1, 21)
        ]

    # --- facts --------------------------------------------------------------------------

    def store_sales(self) -> None:
        rows: list[tuple[Any, ...]] = []
        self.tickets: list[tuple[int, dt.date, int | None, list[int]]] = []
        customers = self.tables["customer"]
        ticket = 0
        while len(rows) < self.rows:
            ticket += 1
            big = self.rng.random() < 0.08
            day = self.pick(self.basket_days) if big and self.rng.random() < 0.7 else self.sale_day()
            customer = self.maybe(self.key("customer"), 0.02)
            address = (
                customers[customer - 1][4] if customer and self.rng.random() < 0.6 else self.key("customer_address")
            )
            lines = self.rng.randint(15, 19) if big else self.rng.randint(1, 6)
            items = self.rng.sample(range(1, len(self.tables["item"]) + 1), lines)
            hdemo = self.pick(self.basket_hdemo) if big and self.rng.random() < 0.7 else self.hdemo(customer)
            cdemo, time = self.cdemo(customer), self.time_sk()
            store, promo = self.maybe(self.key("store"), 0.02), self.maybe(self.key("promotion"), 0.05)
            for item in items:
                quantity = self.rng.randint(1, 100)
                a = self.line_amounts(quantity)
                rows.append((
                    date_sk(day), time, item, customer, cdemo, hdemo, self.maybe(address, 0.03), store, promo, ticket,
                    quantity, a["wholesale"], a["list"], a["sales"], a["ext_discount"], a["ext_sales"],
                    a["ext_wholesale"], a["ext_list"], a["ext_tax"], a["coupon"], a["net_paid"], a["net_paid_inc_tax"],
                    a["net_profit"],
                ))  # fmt: skip
            self.tickets.append((ticket, day, customer, items))
        self.tables["store_sales"] = rows

    def store_returns(self) -> None:
        rows = []
        for sale in self.tables["store_sales"]:
            if self.rng.random() >= _RETURN_SHARE:
                continue
            day = dt.date.fromordinal(sale[0] - date_sk(FIRST_DAY) + FIRST_DAY.toordinal())
            quantity = self.rng.randint(1, sale[10])
            r = self.return_amounts(sale[13], quantity)
            rows.append((
                date_sk(self.later(day, 1, 120)), self.time_sk(), sale[2], sale[3], sale[4], sale[5], sale[6], sale[7],
                self.key("reason"), sale[9], quantity, r["amt"], r["tax"], r["amt_inc_tax"], r["fee"], r["ship"],
                r["cash"], r["charge"], r["credit"], r["net_loss"],
            ))  # fmt: skip
        self.tables["store_returns"] = rows

    def _orders(
        self, count: int, line: Callable[[int, dt.date, dt.date, int | None, int], tuple[Any, ...]]
    ) -> list[Any]:
        """Orders of 1-4 lines; some repeat a store ticket's customer, day and items."""
        rows: list[tuple[Any, ...]] = []
        order = 0
        while len(rows) < count:
            order += 1
            if self.rng.random() < _CROSS_CHANNEL_SHARE:
                _, day, customer, ticket_items = self.pick(self.tickets)
                items = ticket_items[: self.rng.randint(1, min(4, len(ticket_items)))]
            else:
                day, customer = self.sale_day(), self.key("customer")
                items = self.rng.sample(range(1, len(self.tables["item"]) + 1), self.rng.randint(1, 4))
            ship = self.later(day, 1, 150)
            for item in items:
                rows.append(line(order, day, ship, customer, item))
        return rows

    def catalog_sales(self) -> None:
        customers = self.tables["customer"]

        def line(order: int, day: dt.date, ship: dt.date, customer: int | None, item: int) -> tuple[Any, ...]:
            bill = customer or self.key("customer")
            quantity = self.rng.randint(1, 100)
            a = self.line_amounts(quantity)
            return (
                date_sk(day), self.time_sk(), date_sk(ship), bill, self.cdemo(bill), self.hdemo(bill),
                customers[bill - 1][4], self.maybe(bill, 0.03), self.cdemo(bill), self.hdemo(bill),
                self.maybe(self.key("customer_address"), 0.03), self.key("call_center"), self.key("catalog_page"),
                self.key("ship_mode"), self.key("warehouse"), item, self.maybe(self.key("promotion"), 0.05), order,
                quantity, a["wholesale"], a["list"], a["sales"], a["ext_discount"], a["ext_sales"], a["ext_wholesale"],
                a["ext_list"], a["ext_tax"], a["coupon"], a["ext_ship"], a["net_paid"], a["net_paid_inc_tax"],
                a["net_paid_inc_ship"], a["net_paid_inc_ship_tax"], a["net_profit"],
            )  # fmt: skip

        self.tables["catalog_sales"] = self._orders(self.rows * 2 // 3, line)

    def catalog_returns(self) -> None:
        rows = []
        for sale in self.tables["catalog_sales"]:
            if self.rng.random() >= _RETURN_SHARE:
                continue
            day = dt.date.fromordinal(sale[0] - date_sk(FIRST_DAY) + FIRST_DAY.toordinal())
            quantity = self.rng.randint(1, sale[18])
            r = self.return_amounts(sale[21], quantity)
            rows.append((
                date_sk(self.later(day, 1, 120)), self.time_sk(), sale[15], sale[3], sale[4], sale[5], sale[6],
                sale[7] or sale[3], sale[8], sale[9], sale[10] or sale[6], sale[11], sale[12], sale[13], sale[14],
                self.key("reason"), sale[17], quantity, r["amt"], r["tax"], r["amt_inc_tax"], r["fee"], r["ship"],
                r["cash"], r["charge"], r["credit"], r["net_loss"],
            ))  # fmt: skip
        self.tables["catalog_returns"] = rows

    def web_sales(self) -> None:
        customers = self.tables["customer"]

        def line(order: int, day: dt.date, ship: dt.date, customer: int | None, item: int) -> tuple[Any, ...]:
            bill = customer or self.key("customer")
            quantity = self.rng.randint(1, 100)
            a = self.line_amounts(quantity)
            return (
                date_sk(day), self.time_sk(), date_sk(ship), item, bill, self.cdemo(bill), self.hdemo(bill),
                customers[bill - 1][4], self.maybe(bill, 0.03), self.cdemo(bill), self.hdemo(bill),
                self.key("customer_address"),
                self.key("web_page"), self.key("web_site"), self.key("ship_mode"), self.key("warehouse"),
                self.maybe(self.key("promotion"), 0.05), order, quantity, a["wholesale"], a["list"], a["sales"],
                a["ext_discount"], a["ext_sales"], a["ext_wholesale"], a["ext_list"], a["ext_tax"], a["coupon"],
                a["ext_ship"], a["net_paid"], a["net_paid_inc_tax"], a["net_paid_inc_ship"],
                a["net_paid_inc_ship_tax"], a["net_profit"],
            )  # fmt: skip

        self.tables["web_sales"] = self._orders(self.rows * 2 // 3, line)

    def web_returns(self) -> None:
        rows = []
        for sale in self.tables["web_sales"]:
            if self.rng.random() >= _RETURN_SHARE:
                continue
            day = dt.date.fromordinal(sale[0] - date_sk(FIRST_DAY) + FIRST_DAY.toordinal())
            quantity = self.rng.randint(1, sale[18])
            r = self.return_amounts(sale[21], quantity)
            rows.append((
                date_sk(self.later(day, 1, 120)), self.time_sk(), sale[3], sale[4], sale[5], sale[6], sale[7],
                sale[8] or sale[4], sale[9], sale[10], sale[11], sale[12], self.key("reason"), sale[17], quantity,
                r["amt"], r["tax"], r["amt_inc_tax"], r["fee"], r["ship"], r["cash"], r["charge"], r["credit"],
                r["net_loss"],
            ))  # fmt: skip
        self.tables["web_returns"] = rows

    def inventory(self) -> None:
        seen: set[tuple[int, int, int]] = set()
        rows = []
        # q39: a few (item, warehouse) pairs whose quantity varies strongly in January and February 2001.
        for item, warehouse in ((1, 1), (5, 2), (9, 3), (14, 4)):
            for week in range(8):
                day = dt.date(2001, 1, 4) + dt.timedelta(days=7 * week)
                seen.add((date_sk(day), item, warehouse))
                rows.append((date_sk(day), item, warehouse, 900 if week % 4 == 0 else self.rng.randint(0, 20)))
        items, warehouses = len(self.tables["item"]), len(self.tables["warehouse"])
        while len(rows) < self.rows:
            day = self.sale_day()
            thursday = day - dt.timedelta(days=(day.weekday() - 3) % 7)
            key = (date_sk(max(thursday, FIRST_DAY)), self.rng.randint(1, items), self.rng.randint(1, warehouses))
            if key in seen:
                continue
            seen.add(key)
            rows.append((*key, self.maybe(self.rng.randint(0, 1000), 0.02)))
        self.tables["inventory"] = rows

    def run(self) -> dict[str, list[tuple[Any, ...]]]:
        for step in (
            self.date_dim, self.time_dim, self.income_band, self.household_demographics, self.customer_demographics,
            self.customer_address, self.customer, self.item, self.store, self.call_center, self.catalog_page,
            self.web_site, self.web_page, self.warehouse, self.promotion, self.reason, self.ship_mode,
            self.store_sales, self.store_returns, self.catalog_sales, self.catalog_returns, self.web_sales,
            self.web_returns, self.inventory,
        ):  # fmt: skip
            step()
        return {name: self.tables[name] for name in TABLES}


def generate(rows: int = 1000, seed: int = 20240601) -> dict[str, list[tuple[Any, ...]]]:
    """Every TPC-DS table's rows; ``rows`` is the number of store_sales lines (the other facts scale with it)."""
    if rows < 50:
        raise ValueError("rows must be at least 50 for the tables to relate sensibly")
    return _Generator(rows, seed).run()


def create_tables(spark: Any, rows: int = 1000, seed: int = 20240601, database: str = DATABASE) -> dict[str, int]:
    """(Re)create the 24 tables as Parquet tables of ``database``; returns each table's row count.

    Four tables are written at a time (each write is a small Spark job plus metastore calls).
    """
    data = generate(rows, seed)
    spark.sql(f"CREATE DATABASE IF NOT EXISTS {database}")

    def write(name: str) -> None:
        df = spark.createDataFrame(data[name], TABLES[name], verifySchema=False).coalesce(1)
        df.write.mode("overwrite").format("parquet").saveAsTable(f"{database}.{name}")

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(write, data))
    return {name: len(table_rows) for name, table_rows in data.items()}
