"""The templates objects of the simulated Galaxy derive from, and how their tags are named.

A `Shape` is a template plus a naming rule: every object has one shape, which gives its
category, template chain, attributes (inherited along the chain) and tag prefix. Objects
store only a shape index and a number, so a Galaxy of 100,000 objects stays small.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .defs import (
    CATEGORY_APP_ENGINE,
    CATEGORY_APPLICATION_OBJECT,
    CATEGORY_AREA,
    CATEGORY_PLATFORM,
    CONFIGURE,
    FREE_ACCESS,
    MX_BOOLEAN,
    MX_DOUBLE,
    MX_ELAPSED,
    MX_FLOAT,
    MX_INTEGER,
    MX_STRING,
    MX_TIME,
    OPERATE,
    SECURED_WRITE,
    TUNE,
    VERIFIED_WRITE,
    VIEW_ONLY,
    AttributeDef,
)


@dataclass(frozen=True)
class Shape:
    """A template and the naming rule of its instances."""

    category_id: int
    template_chain: tuple[str, ...]
    attributes: tuple[AttributeDef, ...]
    prefix: str
    """Tag names are `<prefix>_<number>` (unless the object has a fixed name)."""
    digits: int = 5
    contained_name: str | None = None
    """Fixed contained name of an object contained by another (None: its tag name)."""
    by_name: dict[str, AttributeDef] = field(init=False, repr=False, compare=False)
    alarm_bearing: bool = field(init=False)
    historized: bool = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_name", {a.name.lower(): a for a in self.attributes})
        object.__setattr__(self, "alarm_bearing", any(a.alarm for a in self.attributes))
        object.__setattr__(self, "historized", any(a.historized for a in self.attributes))

    def tag(self, number: int) -> str:
        return f"{self.prefix}_{number:0{self.digits}d}"


def _a(name: str, data_type: int, **options: object) -> AttributeDef:
    return AttributeDef(name, data_type, **options)  # type: ignore[arg-type]


TEST_MACHINE_ATTRIBUTES = (
    AttributeDef("TestChangingInt", MX_INTEGER, historized=True, change_period_ms=1000),
    AttributeDef("TestInt", MX_INTEGER),
    AttributeDef("TestBool", MX_BOOLEAN),
    AttributeDef("TestFloat", MX_FLOAT),
    AttributeDef("TestDouble", MX_DOUBLE, change_period_ms=500),
    AttributeDef("TestString", MX_STRING),
    AttributeDef("TestTime", MX_TIME),
    AttributeDef("TestIntArray", MX_INTEGER, is_array=True, array_length=5),
    AttributeDef("SecuredSetpoint", MX_DOUBLE, security=SECURED_WRITE),
    AttributeDef("VerifiedSetpoint", MX_DOUBLE, security=VERIFIED_WRITE),
    AttributeDef("ReadOnlyValue", MX_INTEGER, security=VIEW_ONLY),
    AttributeDef("TestAlarm001", MX_BOOLEAN, security=VIEW_ONLY, alarm=True),
)
TEST_CHILD_ATTRIBUTES = (AttributeDef("TestInt", MX_INTEGER),)

_AREA = (
    _a("ShortDesc", MX_STRING, security=CONFIGURE),
    _a("AlarmInhibit", MX_BOOLEAN, security=TUNE),
    _a("AlarmCntActive", MX_INTEGER, security=VIEW_ONLY),
    _a("AlarmMostUrgentSeverity", MX_INTEGER, security=VIEW_ONLY),
    _a("ScanStateCmd", MX_BOOLEAN),
)
_PLATFORM = (
    _a("ShortDesc", MX_STRING, security=CONFIGURE),
    _a("CPULoad", MX_FLOAT, security=VIEW_ONLY, historized=True, change_period_ms=2000),
    _a("DiskSpaceFree", MX_DOUBLE, security=VIEW_ONLY),
    _a("ScanStateCmd", MX_BOOLEAN),
    _a("Uptime", MX_ELAPSED, security=VIEW_ONLY),
    _a("PlatformAlarm", MX_BOOLEAN, security=VIEW_ONLY, alarm=True),
)
_ENGINE = (
    _a("ShortDesc", MX_STRING, security=CONFIGURE),
    _a("ScanPeriod", MX_INTEGER, security=CONFIGURE),
    _a("ScanOverruns", MX_INTEGER, security=VIEW_ONLY, historized=True),
    _a("ScanStateCmd", MX_BOOLEAN),
    _a("StartTime", MX_TIME, security=VIEW_ONLY),
)
_PUMP = (
    _a("Speed", MX_DOUBLE, security=VIEW_ONLY, historized=True, change_period_ms=1000),
    _a("Running", MX_BOOLEAN, security=VIEW_ONLY),
    _a("Fault", MX_BOOLEAN, security=VIEW_ONLY, alarm=True),
    _a("FlowRate", MX_DOUBLE, security=VIEW_ONLY, historized=True),
    _a("Setpoint", MX_DOUBLE, security=TUNE),
    _a("StartCmd", MX_BOOLEAN),
    _a("RunHours", MX_DOUBLE, security=VIEW_ONLY, historized=True),
    _a("Mode", MX_STRING),
)
_VFD_PUMP = (
    *_PUMP,
    _a("Frequency", MX_FLOAT, security=VIEW_ONLY),
    _a("MotorCurrent", MX_FLOAT, security=VIEW_ONLY, historized=True),
    _a("Torque", MX_FLOAT, security=VIEW_ONLY),
    _a("DriveFault", MX_BOOLEAN, security=VIEW_ONLY, alarm=True),
    _a("SpeedRef", MX_DOUBLE, security=SECURED_WRITE),
    _a("Vibration", MX_FLOAT, is_array=True, array_length=4, security=VIEW_ONLY),
)
_VALVE = (
    _a("Position", MX_DOUBLE, security=VIEW_ONLY),
    _a("OpenCmd", MX_BOOLEAN),
    _a("CloseCmd", MX_BOOLEAN),
    _a("Opened", MX_BOOLEAN, security=VIEW_ONLY),
    _a("Closed", MX_BOOLEAN, security=VIEW_ONLY),
    _a("TravelTime", MX_ELAPSED, security=CONFIGURE),
)
_CONTROL_VALVE = (
    *_VALVE,
    _a("Setpoint", MX_DOUBLE, security=TUNE),
    _a("Output", MX_DOUBLE, security=VIEW_ONLY, historized=True, change_period_ms=2000),
    _a("Kp", MX_FLOAT, security=TUNE),
    _a("Ki", MX_FLOAT, security=TUNE),
    _a("Kd", MX_FLOAT, security=TUNE),
    _a("AutoMode", MX_BOOLEAN),
    _a("Deviation", MX_BOOLEAN, security=VIEW_ONLY, alarm=True),
)
_TANK = (
    _a("Level", MX_DOUBLE, security=VIEW_ONLY, historized=True, alarm=True,
       change_period_ms=1000),
    _a("LevelHi", MX_BOOLEAN, security=VIEW_ONLY, alarm=True),
    _a("LevelLo", MX_BOOLEAN, security=VIEW_ONLY, alarm=True),
    _a("Temperature", MX_DOUBLE, security=VIEW_ONLY, historized=True),
    _a("Volume", MX_DOUBLE, security=VIEW_ONLY),
    _a("Capacity", MX_DOUBLE, security=CONFIGURE),
    _a("Product", MX_STRING, security=OPERATE),
    _a("LevelHiLimit", MX_DOUBLE, security=VERIFIED_WRITE),
    _a("LastCleaned", MX_TIME),
    _a("LevelTrend", MX_DOUBLE, is_array=True, array_length=24, security=VIEW_ONLY),
)
_MOTOR = (
    _a("Speed", MX_DOUBLE, security=VIEW_ONLY),
    _a("Current", MX_FLOAT, security=VIEW_ONLY, historized=True),
    _a("Running", MX_BOOLEAN, security=VIEW_ONLY),
    _a("Overload", MX_BOOLEAN, security=VIEW_ONLY, alarm=True),
    _a("WindingTemp", MX_FLOAT, security=VIEW_ONLY, historized=True),
    _a("StartCmd", MX_BOOLEAN),
    _a("StopCmd", MX_BOOLEAN),
    _a("RunHours", MX_DOUBLE, security=VIEW_ONLY),
)
_CONVEYOR = (
    _a("Speed", MX_FLOAT, security=OPERATE),
    _a("Running", MX_BOOLEAN, security=VIEW_ONLY),
    _a("ItemCount", MX_INTEGER, security=VIEW_ONLY, change_period_ms=3000),
    _a("Length", MX_FLOAT, security=CONFIGURE),
    _a("Direction", MX_STRING, security=FREE_ACCESS),
)
_ANALYZER = (
    *(_a(f"Channel{n:02d}", MX_DOUBLE, security=VIEW_ONLY, historized=n <= 20)
      for n in range(1, 41)),
    _a("Status", MX_STRING, security=VIEW_ONLY),
    _a("CalibrationDue", MX_TIME, security=CONFIGURE),
    _a("SerialNumber", MX_STRING, security=VIEW_ONLY),
    _a("Readings", MX_DOUBLE, is_array=True, array_length=16, security=VIEW_ONLY),
    _a("SampleCount", MX_INTEGER, security=VIEW_ONLY),
    _a("CalibrateCmd", MX_BOOLEAN, security=SECURED_WRITE),
    _a("Offset", MX_FLOAT, security=TUNE),
    _a("Span", MX_FLOAT, security=TUNE),
    _a("OutOfSpec", MX_BOOLEAN, security=VIEW_ONLY, alarm=True),
    _a("LastSample", MX_TIME, security=VIEW_ONLY),
)

_UD = "$UserDefined"
_APP = CATEGORY_APPLICATION_OBJECT

SHAPES: tuple[Shape, ...] = (
    Shape(CATEGORY_AREA, ("$Area",), _AREA, "Site", 3),                            # 0
    Shape(CATEGORY_AREA, ("$Area",), _AREA, "Unit", 4),                            # 1
    Shape(CATEGORY_AREA, ("$Area",), _AREA, "Line", 5),                            # 2
    Shape(CATEGORY_PLATFORM, ("$WinPlatform",), _PLATFORM, "Platform", 3),         # 3
    Shape(CATEGORY_APP_ENGINE, ("$AppEngine",), _ENGINE, "AppEngine", 3),          # 4
    Shape(_APP, ("$TestMachine", _UD), TEST_MACHINE_ATTRIBUTES, "TestMachine", 3),  # 5
    Shape(_APP, ("$TestChild", _UD), TEST_CHILD_ATTRIBUTES, "TestChildObject", 0,  # 6
          contained_name="TestChild"),
    Shape(_APP, ("$Pump", _UD), _PUMP, "Pump"),                                    # 7
    Shape(_APP, ("$VFDPump", "$Pump", _UD), _VFD_PUMP, "Pump"),                    # 8
    Shape(_APP, ("$Valve", _UD), _VALVE, "Valve"),                                 # 9
    Shape(_APP, ("$ControlValve", "$Valve", _UD), _CONTROL_VALVE, "Valve"),        # 10
    Shape(_APP, ("$Tank", _UD), _TANK, "Tank"),                                    # 11
    Shape(_APP, ("$Motor", _UD), _MOTOR, "Motor"),                                 # 12
    Shape(_APP, ("$Conveyor", _UD), _CONVEYOR, "Conveyor"),                        # 13
    Shape(_APP, ("$Analyzer", _UD), _ANALYZER, "Analyzer"),                        # 14
    Shape(_APP, ("$Valve", _UD), _VALVE, "Valve", contained_name="InletValve"),    # 15
    Shape(_APP, ("$Valve", _UD), _VALVE, "Valve", contained_name="OutletValve"),   # 16
)
SITE, UNIT, LINE, PLATFORM, ENGINE, TEST_MACHINE, TEST_CHILD = range(7)
PUMP, VFD_PUMP, VALVE, CONTROL_VALVE, TANK, MOTOR, CONVEYOR, ANALYZER = range(7, 15)
INLET_VALVE, OUTLET_VALVE = 15, 16

# Application-object templates of a line, with their weights; a tank contains two valves.
LINE_OBJECTS = (PUMP, VFD_PUMP, VALVE, CONTROL_VALVE, TANK, MOTOR, CONVEYOR, ANALYZER)
LINE_WEIGHTS = (20, 8, 20, 10, 10, 15, 10, 3)
CONTAINED = {TANK: (INLET_VALVE, OUTLET_VALVE)}
