//! The people of Example Corp: one list that both emulators serve, so a ServiceNow caller's
//! email is the Okta login of the same person.
//!
//! Generation is deterministic: the same seed, scale and epoch give the same people in the same
//! order. The personas of WORLD.md are always the first six people, with stable names.

use chrono::{DateTime, Duration, Utc};
use rand::{Rng, RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::{Scale, WorldSpec};

/// Company departments, each with a head and managers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Department {
    /// Software engineering.
    Engineering,
    /// Finance and accounting.
    Finance,
    /// Sales.
    Sales,
    /// HR.
    People,
    /// Internal IT, the service desk among them.
    It,
    /// Security.
    Security,
}

impl Department {
    /// All departments, in a fixed order.
    pub const ALL: [Department; 6] = [
        Department::Engineering,
        Department::Finance,
        Department::Sales,
        Department::People,
        Department::It,
        Department::Security,
    ];

    /// Display name.
    pub fn name(self) -> &'static str {
        match self {
            Department::Engineering => "Engineering",
            Department::Finance => "Finance",
            Department::Sales => "Sales",
            Department::People => "People",
            Department::It => "IT",
            Department::Security => "Security",
        }
    }

    /// Share of headcount, in percent.
    fn weight(self) -> u32 {
        match self {
            Department::Engineering => 40,
            Department::Finance => 10,
            Department::Sales => 25,
            Department::People => 7,
            Department::It => 12,
            Department::Security => 6,
        }
    }

    fn titles(self) -> &'static [&'static str] {
        match self {
            Department::Engineering => &[
                "Software Engineer",
                "Senior Software Engineer",
                "Staff Engineer",
                "Site Reliability Engineer",
                "Data Engineer",
                "QA Engineer",
            ],
            Department::Finance => &["Accountant", "Financial Analyst", "Payroll Specialist", "Controller"],
            Department::Sales => {
                &["Account Executive", "Sales Development Rep", "Solutions Engineer", "Account Manager"]
            }
            Department::People => &["HR Business Partner", "Recruiter", "People Operations Specialist"],
            Department::It => {
                &["Service Desk Analyst", "Systems Administrator", "Network Engineer", "Endpoint Engineer"]
            }
            Department::Security => &["Security Analyst", "Security Engineer", "GRC Analyst"],
        }
    }

    fn manager_title(self) -> &'static str {
        match self {
            Department::Engineering => "Engineering Manager",
            Department::Finance => "Finance Manager",
            Department::Sales => "Sales Manager",
            Department::People => "People Manager",
            Department::It => "IT Manager",
            Department::Security => "Security Manager",
        }
    }

    fn head_title(self) -> &'static str {
        match self {
            Department::Engineering => "VP Engineering",
            Department::Finance => "Chief Financial Officer",
            Department::Sales => "VP Sales",
            Department::People => "Chief People Officer",
            Department::It => "Director of IT",
            Department::Security => "Chief Information Security Officer",
        }
    }
}

/// The stable personas of WORLD.md.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Persona {
    /// `dana.desk`: service-desk agent, the default operator.
    Dana,
    /// `alex.approver`: IAM admin, owner of most requestable groups.
    Alex,
    /// `morgan.manager`: engineering manager of ~20 people, riley among them.
    Morgan,
    /// `riley.requester`: engineer, locked out, with an open access request.
    Riley,
    /// `sam.security`: security approver.
    Sam,
    /// `casey.contractor`: contractor whose time-bound grant expires within the day.
    Casey,
}

impl Persona {
    /// Every persona, in the order they appear at the head of the people list.
    pub const ALL: [Persona; 6] =
        [Persona::Dana, Persona::Alex, Persona::Morgan, Persona::Riley, Persona::Sam, Persona::Casey];

    /// ServiceNow user name (the part of the email before `@`).
    pub fn user_name(self) -> &'static str {
        match self {
            Persona::Dana => "dana.desk",
            Persona::Alex => "alex.approver",
            Persona::Morgan => "morgan.manager",
            Persona::Riley => "riley.requester",
            Persona::Sam => "sam.security",
            Persona::Casey => "casey.contractor",
        }
    }

    /// Index of the persona in [`People::people`].
    pub fn index(self) -> usize {
        Persona::ALL.iter().position(|p| *p == self).unwrap_or(0)
    }
}

/// Employee or contractor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Employment {
    /// Permanent staff.
    Employee,
    /// Contractor with an end date.
    Contractor,
}

/// One person of Example Corp.
#[derive(Debug, Clone)]
pub struct Person {
    /// Position in [`People::people`]; stable for a given seed and scale.
    pub index: usize,
    /// `first.last` (unique); the email's local part and the ServiceNow `user_name`.
    pub user_name: String,
    /// Given name.
    pub first_name: String,
    /// Family name.
    pub last_name: String,
    /// `<user_name>@example.com`, also the Okta login.
    pub email: String,
    /// Department.
    pub department: Department,
    /// Job title.
    pub title: String,
    /// Index of the manager, if any (the CEO has none).
    pub manager: Option<usize>,
    /// Employee or contractor.
    pub employment: Employment,
    /// Contract end for contractors.
    pub contract_end: Option<DateTime<Utc>>,
    /// Start date.
    pub hired: DateTime<Utc>,
    /// Office.
    pub location: &'static str,
    /// Phone number.
    pub phone: String,
    /// The persona this person plays, if any.
    pub persona: Option<Persona>,
}

impl Person {
    /// "First Last".
    pub fn name(&self) -> String {
        format!("{} {}", self.first_name, self.last_name)
    }
}

/// Everyone at Example Corp.
#[derive(Debug, Clone)]
pub struct People {
    /// Everyone; the six personas first, then the CEO, department heads, managers and staff.
    pub people: Vec<Person>,
}

impl People {
    /// The person playing `persona`.
    pub fn persona(&self, persona: Persona) -> &Person {
        &self.people[persona.index()]
    }

    /// Looks a person up by user name (linear; the emulators keep their own indexes).
    pub fn by_user_name(&self, user_name: &str) -> Option<&Person> {
        self.people.iter().find(|p| p.user_name == user_name)
    }

    /// Indices of the direct reports of `manager`.
    pub fn reports_of(&self, manager: usize) -> impl Iterator<Item = &Person> {
        self.people.iter().filter(move |p| p.manager == Some(manager))
    }
}

const FIRST: &[&str] = &[
    "James",
    "Mary",
    "John",
    "Patricia",
    "Robert",
    "Jennifer",
    "Michael",
    "Linda",
    "William",
    "Elizabeth",
    "David",
    "Barbara",
    "Richard",
    "Susan",
    "Joseph",
    "Jessica",
    "Thomas",
    "Sarah",
    "Charles",
    "Karen",
    "Christopher",
    "Nancy",
    "Daniel",
    "Lisa",
    "Matthew",
    "Betty",
    "Anthony",
    "Margaret",
    "Mark",
    "Sandra",
    "Donald",
    "Ashley",
    "Steven",
    "Kimberly",
    "Paul",
    "Emily",
    "Andrew",
    "Donna",
    "Joshua",
    "Michelle",
    "Kenneth",
    "Dorothy",
    "Kevin",
    "Carol",
    "Brian",
    "Amanda",
    "George",
    "Melissa",
    "Edward",
    "Deborah",
    "Ronald",
    "Stephanie",
    "Timothy",
    "Rebecca",
    "Jason",
    "Sharon",
    "Jeffrey",
    "Laura",
    "Ryan",
    "Cynthia",
    "Jacob",
    "Kathleen",
    "Gary",
    "Amy",
    "Nicholas",
    "Shirley",
    "Eric",
    "Angela",
    "Jonathan",
    "Helen",
    "Stephen",
    "Anna",
    "Larry",
    "Brenda",
    "Justin",
    "Pamela",
    "Scott",
    "Nicole",
    "Brandon",
    "Emma",
    "Benjamin",
    "Samantha",
    "Samuel",
    "Katherine",
    "Gregory",
    "Christine",
    "Frank",
    "Debra",
    "Alexander",
    "Rachel",
    "Raymond",
    "Catherine",
    "Patrick",
    "Carolyn",
    "Jack",
    "Janet",
    "Dennis",
    "Ruth",
    "Jerry",
    "Maria",
    "Tyler",
    "Heather",
    "Aaron",
    "Diane",
    "Jose",
    "Virginia",
    "Adam",
    "Julie",
    "Henry",
    "Joyce",
    "Nathan",
    "Victoria",
    "Douglas",
    "Olivia",
    "Zachary",
    "Kelly",
    "Peter",
    "Christina",
    "Kyle",
    "Lauren",
    "Priya",
    "Wei",
    "Aisha",
    "Mateo",
    "Yuki",
    "Olga",
    "Kwame",
    "Ingrid",
    "Rahul",
    "Sofia",
    "Hiroshi",
    "Fatima",
    "Lars",
    "Chen",
    "Amara",
    "Diego",
    "Noor",
    "Sven",
    "Leila",
    "Tomas",
];

const LAST: &[&str] = &[
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Garcia",
    "Miller",
    "Davis",
    "Rodriguez",
    "Martinez",
    "Hernandez",
    "Lopez",
    "Gonzalez",
    "Wilson",
    "Anderson",
    "Thomas",
    "Taylor",
    "Moore",
    "Jackson",
    "Martin",
    "Lee",
    "Perez",
    "Thompson",
    "White",
    "Harris",
    "Sanchez",
    "Clark",
    "Ramirez",
    "Lewis",
    "Robinson",
    "Walker",
    "Young",
    "Allen",
    "King",
    "Wright",
    "Scott",
    "Torres",
    "Nguyen",
    "Hill",
    "Flores",
    "Green",
    "Adams",
    "Nelson",
    "Baker",
    "Hall",
    "Rivera",
    "Campbell",
    "Mitchell",
    "Carter",
    "Roberts",
    "Gomez",
    "Phillips",
    "Evans",
    "Turner",
    "Diaz",
    "Parker",
    "Cruz",
    "Edwards",
    "Collins",
    "Reyes",
    "Stewart",
    "Morris",
    "Morales",
    "Murphy",
    "Cook",
    "Rogers",
    "Gutierrez",
    "Ortiz",
    "Morgan",
    "Cooper",
    "Peterson",
    "Bailey",
    "Reed",
    "Kelly",
    "Howard",
    "Ramos",
    "Kim",
    "Cox",
    "Ward",
    "Richardson",
    "Watson",
    "Brooks",
    "Chavez",
    "Wood",
    "James",
    "Bennett",
    "Gray",
    "Mendoza",
    "Ruiz",
    "Hughes",
    "Price",
    "Alvarez",
    "Castillo",
    "Sanders",
    "Patel",
    "Myers",
    "Long",
    "Ross",
    "Foster",
    "Jimenez",
    "Powell",
    "Jenkins",
    "Perry",
    "Russell",
    "Sullivan",
    "Bell",
    "Coleman",
    "Butler",
    "Henderson",
    "Barnes",
    "Gonzales",
    "Fisher",
    "Vasquez",
    "Simmons",
    "Romero",
    "Jordan",
    "Patterson",
    "Alexander",
    "Hamilton",
    "Graham",
    "Reynolds",
    "Griffin",
    "Wallace",
    "Moreno",
    "West",
    "Cole",
    "Hayes",
    "Bryant",
    "Herrera",
    "Gibson",
    "Ellis",
    "Tran",
    "Medina",
    "Aguilar",
    "Stevens",
    "Murray",
    "Ford",
    "Castro",
    "Marshall",
    "Owens",
    "Harrison",
    "Fernandez",
    "McDonald",
    "Woods",
    "Washington",
    "Kennedy",
    "Wells",
    "Vargas",
    "Henry",
    "Chen",
    "Freeman",
    "Webb",
    "Tucker",
    "Guzman",
    "Burns",
    "Crawford",
    "Olson",
    "Simpson",
    "Porter",
    "Hunter",
    "Gordon",
    "Mendez",
    "Silva",
    "Shaw",
    "Snyder",
    "Mason",
    "Dixon",
    "Munoz",
    "Hunt",
    "Hicks",
    "Holmes",
    "Palmer",
    "Wagner",
    "Black",
    "Robertson",
    "Boyd",
    "Rose",
    "Stone",
    "Salazar",
    "Fox",
    "Warren",
    "Mills",
    "Meyer",
    "Rice",
    "Schmidt",
    "Garza",
    "Daniels",
    "Ferguson",
    "Nichols",
    "Stephens",
    "Okafor",
    "Yamamoto",
    "Kowalski",
    "Novak",
    "Lindqvist",
    "Haddad",
    "Singh",
    "Nakamura",
    "Oyelaran",
    "Petrov",
];

const LOCATIONS: &[&str] = &["London", "New York", "San Francisco", "Berlin", "Singapore", "Remote"];

/// Generates the people of the world described by `spec`.
pub fn generate(spec: &WorldSpec) -> People {
    let mut rng = ChaCha8Rng::seed_from_u64(spec.seed);
    rng.set_stream(1); // the people stream; tickets and Okta data use their own streams
    let epoch = spec.epoch;
    let total = spec.scale.people();
    let mut people: Vec<Person> = Vec::with_capacity(total);
    let mut taken = std::collections::HashSet::with_capacity(total);

    // Personas first, at fixed indices. Managers are wired below once the hierarchy exists.
    let personas: [(Persona, &str, &str, Department, &str, Employment); 6] = [
        (Persona::Dana, "Dana", "Desk", Department::It, "Service Desk Analyst", Employment::Employee),
        (Persona::Alex, "Alex", "Approver", Department::It, "IAM Administrator", Employment::Employee),
        (Persona::Morgan, "Morgan", "Manager", Department::Engineering, "Engineering Manager", Employment::Employee),
        (Persona::Riley, "Riley", "Requester", Department::Engineering, "Software Engineer", Employment::Employee),
        (Persona::Sam, "Sam", "Security", Department::Security, "Security Engineer", Employment::Employee),
        (Persona::Casey, "Casey", "Contractor", Department::Engineering, "Contract Developer", Employment::Contractor),
    ];
    for (persona, first, last, dept, title, employment) in personas {
        let user_name = persona.user_name().to_string();
        taken.insert(user_name.clone());
        let index = people.len();
        people.push(Person {
            index,
            email: format!("{user_name}@example.com"),
            user_name,
            first_name: first.into(),
            last_name: last.into(),
            department: dept,
            title: title.into(),
            manager: None,
            employment,
            contract_end: (employment == Employment::Contractor).then(|| epoch + Duration::days(45)),
            hired: epoch - Duration::days(rng.random_range(200..1500)),
            location: LOCATIONS[index % LOCATIONS.len()],
            phone: phone(&mut rng),
            persona: Some(persona),
        });
    }

    let mut new_person =
        |rng: &mut ChaCha8Rng, people: &mut Vec<Person>, dept: Department, title: &str, manager: Option<usize>| {
            let first = FIRST[rng.random_range(0..FIRST.len())];
            let last = LAST[rng.random_range(0..LAST.len())];
            let base = format!("{}.{}", first.to_ascii_lowercase(), last.to_ascii_lowercase());
            let mut user_name = base.clone();
            let mut n = 2;
            while !taken.insert(user_name.clone()) {
                user_name = format!("{base}{n}");
                n += 1;
            }
            let contractor = manager.is_some() && rng.random_ratio(1, 12);
            let index = people.len();
            people.push(Person {
                index,
                email: format!("{user_name}@example.com"),
                user_name,
                first_name: first.into(),
                last_name: last.into(),
                department: dept,
                title: if contractor { format!("Contract {title}") } else { title.to_string() },
                manager,
                employment: if contractor { Employment::Contractor } else { Employment::Employee },
                contract_end: contractor.then(|| epoch + Duration::days(rng.random_range(-20..180))),
                hired: epoch - Duration::days(rng.random_range(10..3000)),
                location: LOCATIONS[rng.random_range(0..LOCATIONS.len())],
                phone: phone(rng),
                persona: None,
            });
            index
        };

    // The CEO heads Example Corp; department heads report to the CEO.
    let ceo = new_person(&mut rng, &mut people, Department::People, "Chief Executive Officer", None);
    people[ceo].title = "Chief Executive Officer".into();
    let heads: Vec<(Department, usize)> = Department::ALL
        .iter()
        .map(|d| (*d, new_person(&mut rng, &mut people, *d, d.head_title(), Some(ceo))))
        .collect();
    for (_, h) in &heads {
        people[*h].employment = Employment::Employee;
        people[*h].contract_end = None;
        people[*h].title = people[*h].department.head_title().into();
    }
    let head_of = |d: Department| heads.iter().find(|(hd, _)| *hd == d).map(|(_, i)| *i).unwrap_or(ceo);

    // Persona reporting lines: Morgan reports to the head of Engineering; Riley and Casey to
    // Morgan; Dana and Alex to the head of IT; Sam to the CISO.
    people[Persona::Morgan.index()].manager = Some(head_of(Department::Engineering));
    people[Persona::Riley.index()].manager = Some(Persona::Morgan.index());
    people[Persona::Casey.index()].manager = Some(Persona::Morgan.index());
    people[Persona::Dana.index()].manager = Some(head_of(Department::It));
    people[Persona::Alex.index()].manager = Some(head_of(Department::It));
    people[Persona::Sam.index()].manager = Some(head_of(Department::Security));

    // Everyone else: per department, managers under the head, staff under managers, teams of
    // 8–20. Morgan's team is filled to about twenty.
    let remaining = total.saturating_sub(people.len());
    let weight_sum: u32 = Department::ALL.iter().map(|d| d.weight()).sum();
    let quotas: Vec<usize> =
        Department::ALL.iter().map(|d| remaining * d.weight() as usize / weight_sum as usize).collect();
    // Rounding down leaves a few people over; Engineering, the largest department, takes them.
    let leftover = remaining - quotas.iter().sum::<usize>();
    for (i, dept) in Department::ALL.into_iter().enumerate() {
        let mut quota = quotas[i] + if i == 0 { leftover } else { 0 };
        let head = head_of(dept);
        if dept == Department::Engineering {
            // Morgan's team: 18 more besides Riley and Casey.
            for _ in 0..18.min(quota) {
                let title = dept.titles()[rng.random_range(0..dept.titles().len())];
                new_person(&mut rng, &mut people, dept, title, Some(Persona::Morgan.index()));
            }
            quota = quota.saturating_sub(18);
        }
        while quota > 0 {
            let manager = new_person(&mut rng, &mut people, dept, dept.manager_title(), Some(head));
            people[manager].employment = Employment::Employee;
            people[manager].contract_end = None;
            people[manager].title = dept.manager_title().into();
            quota -= 1;
            let team = rng.random_range(8..=20).min(quota);
            for _ in 0..team {
                let title = dept.titles()[rng.random_range(0..dept.titles().len())];
                new_person(&mut rng, &mut people, dept, title, Some(manager));
            }
            quota -= team;
        }
    }
    People { people }
}

fn phone(rng: &mut impl Rng) -> String {
    format!("+1 555 {:03} {:04}", rng.random_range(100..1000u32), rng.random_range(0..10000u32))
}

impl Scale {
    /// Headcount at this scale.
    pub fn people(self) -> usize {
        match self {
            Scale::Demo => 500,
            Scale::Large => 50_000,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headcount_is_exact_and_user_names_unique() {
        for scale in [Scale::Demo, Scale::Large] {
            let spec = WorldSpec::new(scale, 7);
            let people = generate(&spec);
            assert_eq!(people.people.len(), scale.people());
            let names: std::collections::HashSet<&str> = people.people.iter().map(|p| p.user_name.as_str()).collect();
            assert_eq!(names.len(), people.people.len());
        }
    }

    #[test]
    fn personas_have_their_reporting_lines() {
        let people = generate(&WorldSpec::new(Scale::Demo, 1));
        let morgan = Persona::Morgan.index();
        assert_eq!(people.persona(Persona::Riley).manager, Some(morgan));
        assert_eq!(people.persona(Persona::Casey).manager, Some(morgan));
        assert_eq!(people.persona(Persona::Casey).employment, Employment::Contractor);
        let team = people.reports_of(morgan).count();
        assert!((18..=22).contains(&team), "morgan manages about 20 people, not {team}");
    }
}
