//! The machine a comparison ran on, recorded beside its numbers: they mean little without it.

/// Core count and CPU model.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Machine {
    /// Cores this process may use (`nproc`).
    pub cores: usize,
    /// Logical processors listed in /proc/cpuinfo.
    pub cpuinfo_processors: usize,
    /// The first `model name` of /proc/cpuinfo.
    pub cpu_model: String,
}

impl Machine {
    pub fn detect() -> Self {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let field = |line: &str, name: &str| -> Option<String> {
            let (key, value) = line.split_once(':')?;
            (key.trim() == name).then(|| value.trim().to_owned())
        };
        let cpuinfo_processors = cpuinfo
            .lines()
            .filter(|l| field(l, "processor").is_some())
            .count();
        let cpu_model = cpuinfo
            .lines()
            .find_map(|l| field(l, "model name"))
            .unwrap_or_else(|| "unknown".to_owned());
        let cores = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(cpuinfo_processors);
        Self {
            cores,
            cpuinfo_processors,
            cpu_model,
        }
    }

    /// `2 cores, AMD EPYC`.
    pub fn describe(&self) -> String {
        format!("{} cores, {}", self.cores, self.cpu_model)
    }
}
