package workorders

import "time"

// DefaultMappings maps the alarm engine's classes and rules to categories. Rule
// names are globs, so they hold whatever exact names the rules use.
func DefaultMappings() []Mapping {
	return []Mapping{
		// Communication loss is a matter for engineering IT, never a device repair; a fire
		// panel's silence is high priority.
		{Class: "communication", Kind: "fire_panel", Category: "engineering_it", Team: "engineering-it", Priority: "high"},
		{Class: "communication", Category: "engineering_it", Team: "engineering-it", Priority: "medium"},
		{Kind: "elevator", Rule: "*entrap*", Category: "elevator_entrapment", Priority: "critical"},
		{Kind: "elevator", Category: "elevator_fault", Priority: "high"},
		// A fire is the patrol's to answer; the panel's troubles are a repair.
		{Kind: "fire_panel", Class: "life_safety", Category: "none"},
		{Kind: "fire_panel", Category: "fire_system", Priority: "high"},
		{Kind: "pump", Rule: "*pit*", Category: "drainage_flood", Priority: "critical"},
		{Kind: "pump", Category: "pump_trip", Priority: "high"},
		{Kind: "lighting", Category: "lighting", Priority: "low"},
		{Class: "equipment", Category: "general", Priority: "medium"},
		{Class: "trouble", Category: "general", Priority: "medium"},
	}
}

// DefaultTimeLimits is the default maintenance time-limit table (维护时限表). These are
// defaults the site must check against its own property-service contract and local rules.
func DefaultTimeLimits() []TimeLimit {
	return []TimeLimit{
		// TSG T5002-2017 (电梯维护保养规则): the maintenance unit answers an entrapment
		// around the clock and in a city reaches the site within 30 minutes of the call;
		// GB/T 18775-2009 sets the same expectation for maintenance contracts. Accepting
		// within 5 minutes and releasing the passengers within the hour are the estate's own.
		{Category: "elevator_entrapment", Accept: 5 * time.Minute, Arrive: 30 * time.Minute, Complete: time.Hour, FromCall: true, Basis: "TSG T5002-2017: on site within 30 min of the call"},
		{Category: "elevator_fault", Accept: 15 * time.Minute, Arrive: time.Hour, Complete: 4 * time.Hour, Basis: "estate default"},
		{Category: "drainage_flood", Accept: 5 * time.Minute, Arrive: 30 * time.Minute, Complete: time.Hour, FromCall: true, Basis: "estate default: water rises by the minute"},
		{Category: "pump_trip", Accept: 15 * time.Minute, Arrive: time.Hour, Complete: 4 * time.Hour, Basis: "estate default"},
		// GB 25201-2010 (建筑消防设施的维护管理) asks faults of fire systems to be put right
		// at once; a day is the outside limit the estate accepts.
		{Category: "fire_system", Accept: 15 * time.Minute, Arrive: time.Hour, Complete: 24 * time.Hour, Basis: "GB 25201-2010: repair fire-system faults promptly"},
		{Category: "engineering_it", Accept: time.Hour, Arrive: 4 * time.Hour, Complete: 8 * time.Hour, Basis: "estate default"},
		// A failed lamp within two working days.
		{Category: "lighting", Accept: 4 * time.Hour, Arrive: 9 * time.Hour, Complete: 18 * time.Hour, WorkingHours: true, Basis: "estate default: two working days"},
		// Residents are promised a repairer at the door within 30 minutes of taking the job.
		{Category: "household_repair", Accept: 2 * time.Hour, Arrive: 30 * time.Minute, Complete: 27 * time.Hour, WorkingHours: true, Basis: "estate default: on site in 30 min, done in three working days"},
		// The estate's plans: a complaint gets the department head's visit the same day.
		{Category: "complaint", Accept: time.Hour, Arrive: 8 * time.Hour, Complete: 8 * time.Hour, WorkingHours: true, FromCall: true, SameDay: true, Basis: "estate plans: visited the same working day"},
		// The plans' emergency repair service (应急维修, 接报后即刻处理) sets no minutes; ours: accept
		// within 15 min and on site within 30 min, night and weekend alike, as for a pit
		// flood, since a burst pipe in a home floods as fast; made safe within 4 h.
		{Category: "emergency", Accept: 15 * time.Minute, Arrive: 30 * time.Minute, Complete: 4 * time.Hour, FromCall: true, Basis: "estate default: emergency repair round the clock"},
		{Category: "preventive", Accept: 9 * time.Hour, Complete: 45 * time.Hour, WorkingHours: true, Basis: "estate default: a working week"},
		{Category: "general", Accept: time.Hour, Arrive: 2 * time.Hour, Complete: 24 * time.Hour, Basis: "estate default"},
	}
}

// DefaultPlans are the preventive-maintenance plans for what the estate's plans name. The
// plans say what is kept up (elevators by regulation, secondary water checked and recorded,
// drainage pumps kept working, fire systems checked) and ask annual, quarterly and monthly
// plans; the intervals are a standard's where one rules, and otherwise ours, each with its
// basis below. Pumps are told apart by their role tag: the secondary water check is the
// supply (booster) pumps', the test run the drainage pumps'. Tank cleaning and the sump
// pit's pumps are confined-space work (严格执行有限空间作业管理制度): their jobs start only
// under a permit.
func DefaultPlans() []Plan {
	return []Plan{
		// TSG T5002-2017 (电梯维护保养规则): half-monthly maintenance, at most 15 days
		// between two visits: the standard's number, kept as a hard maximum (a job on a day
		// off moves earlier, never later). The 3 days' grace are ours, and never reach past
		// the 15 days.
		{ID: "elevator-maintenance", Title: "Elevator half-monthly maintenance", Kind: "elevator", Every: "15d", MaxDays: 15, At: "10:00", Duration: 2 * time.Hour, Grace: 3 * 24 * time.Hour},
		// GB 25201-2010: the fire systems' monthly inspection (月检) is the standard's.
		{ID: "fire-system-check", Title: "Fire-system monthly check", Kind: "fire_panel", Every: "monthly", Day: 5, At: "10:00", Duration: 4 * time.Hour, Grace: 3 * 24 * time.Hour},
		// Ours: the plans ask the secondary water supply "checked and recorded" (二次供水) and
		// give no interval. Quarterly is our choice; GB 17051-1997 (二次供水设施卫生规范) asks
		// the facilities cleaned and disinfected in full once a year, which one of the four
		// covers; a site whose health authority asks more often follows it.
		{ID: "secondary-water-check", Title: "Secondary water supply check and tank cleaning", Kind: "pump", Tags: map[string]string{"role": "supply"}, Every: "quarterly", Month: 1, Day: 10, At: "09:00", Interrupts: "water", Duration: 4 * time.Hour, Ahead: 72 * time.Hour, Grace: 24 * time.Hour, ConfinedSpace: true},
		// Ours: the plans ask drainage pumps "kept working" and give no interval. A monthly
		// test run finds a seized pump before the rains need it; 500 running hours is our
		// service interval for a pump that runs often (a pump maker's manual overrides it).
		{ID: "drainage-pump-test", Title: "Drainage pump test run", Kind: "pump", Tags: map[string]string{"role": "drainage"}, Every: "monthly", Day: 20, At: "14:00", Meter: "running_hours", MeterEvery: 500, Duration: time.Hour, Grace: 3 * 24 * time.Hour, ConfinedSpace: true},
		// The yearly items: the plans ask annual, quarterly and monthly plans (年、季、月的养护
		// 计划) and give no day. Each kind gets one, in a month away from the Spring Festival
		// and the National Day holidays; the days are ours.
		//
		// TSG T7001-2009 (电梯监督检验和定期检验规则): an elevator's periodic inspection is
		// yearly, and TSG T5002-2017 lists the annual maintenance items done before it.
		{ID: "elevator-annual-inspection", Title: "Elevator annual maintenance and periodic inspection", Kind: "elevator", Every: "yearly", Month: 6, Day: 10, At: "09:00", Duration: 4 * time.Hour, Grace: 7 * 24 * time.Hour},
		// GB 25201-2010 (建筑消防设施的维护管理): the building's fire systems are tested in
		// full at least once a year.
		{ID: "fire-system-annual-test", Title: "Fire-system annual full test", Kind: "fire_panel", Every: "yearly", Month: 9, Day: 8, At: "10:00", Duration: 8 * time.Hour, Grace: 7 * 24 * time.Hour},
		// Ours: pump makers ask a yearly service (bearings, seals, alignment, motor insulation);
		// a site follows its pumps' manuals where they say otherwise. Duty and standby pumps
		// take turns, so residents' water is not cut.
		{ID: "pump-annual-overhaul", Title: "Pump annual overhaul", Kind: "pump", Every: "yearly", Month: 4, Day: 14, At: "09:00", Duration: 8 * time.Hour, Grace: 14 * 24 * time.Hour},
		// Ours: before the long winter nights, the circuits' insulation, contactors, photocells
		// and timers are checked once a year.
		{ID: "lighting-annual-check", Title: "Public lighting annual check", Kind: "lighting", Every: "yearly", Month: 10, Day: 20, At: "10:00", Duration: 4 * time.Hour, Grace: 7 * 24 * time.Hour},
	}
}
