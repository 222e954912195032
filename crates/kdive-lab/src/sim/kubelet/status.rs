//! The pod status kubelet writes: container statuses, phase and conditions.

use k8s_openapi::api::core::v1::{
    Container, ContainerState, ContainerStateRunning, ContainerStateTerminated,
    ContainerStateWaiting, ContainerStatus, Pod, PodCondition, PodIP, PodStatus,
};

use super::{
    CREATE_MS, ContainerSim, Input, Phase, PodSim, Term, format_pod, go_duration, hex64, image_id,
    restart_policy, time,
};

fn container_status(pod: &Pod, c: &Container, sim: &ContainerSim) -> ContainerStatus {
    let waiting = |reason: &str, message: Option<String>| ContainerState {
        waiting: Some(ContainerStateWaiting {
            reason: Some(reason.to_string()),
            message,
        }),
        ..Default::default()
    };
    let terminated = |t: &Term| ContainerState {
        terminated: Some(ContainerStateTerminated {
            container_id: Some(t.container_id.clone()),
            exit_code: t.code,
            reason: Some(t.reason.clone()),
            started_at: Some(time(t.started)),
            finished_at: Some(time(t.finished)),
            ..Default::default()
        }),
        ..Default::default()
    };
    let (state, last, id) = match &sim.phase {
        Phase::Creating { .. } | Phase::Done { term: None } => {
            (waiting("ContainerCreating", None), sim.last.as_ref(), None)
        }
        // The exit is what kubectl shows until the next relist.
        Phase::BackOff {
            relisted: false, ..
        } if sim.last.is_some() => (
            sim.last
                .as_ref()
                .map_or_else(ContainerState::default, terminated),
            sim.before_last.as_ref(),
            sim.last.as_ref().map(|l| l.container_id.clone()),
        ),
        Phase::BackOff { .. } => {
            let secs = sim.backoff.map_or(0, |(d, _)| d / 1000);
            let msg = format!(
                "back-off {} restarting failed container={} pod={}",
                go_duration(secs),
                c.name,
                format_pod(pod)
            );
            (
                waiting("CrashLoopBackOff", Some(msg)),
                sim.last.as_ref(),
                sim.last.as_ref().map(|l| l.container_id.clone()),
            )
        }
        Phase::Running { since, .. } => {
            let running = ContainerState {
                running: Some(ContainerStateRunning {
                    started_at: Some(time(*since)),
                }),
                ..Default::default()
            };
            (running, sim.last.as_ref(), None)
        }
        Phase::Done { term: Some(t) } => (
            terminated(t),
            sim.last.as_ref(),
            Some(t.container_id.clone()),
        ),
    };
    let image = c.image.clone().unwrap_or_default();
    let running_id = matches!(sim.phase, Phase::Running { .. }).then(|| {
        let uid = pod.metadata.uid.as_deref().unwrap_or("");
        format!(
            "containerd://{}",
            hex64(&[uid, &c.name, &sim.incarnation.to_string()])
        )
    });
    ContainerStatus {
        name: c.name.clone(),
        ready: sim.ready(),
        started: Some(sim.started()),
        restart_count: sim.restart_count,
        image_id: if sim.incarnation > 0 {
            image_id(&image)
        } else {
            String::new()
        },
        image,
        container_id: running_id.or(id),
        state: Some(state),
        last_state: Some(last.map_or_else(ContainerState::default, terminated)),
        ..Default::default()
    }
}

/// The pod phase as kubelet's `getPhase` computes it (no init containers).
fn phase(pod: &Pod, sims: &[&ContainerSim], terminal: bool) -> &'static str {
    let (mut waiting, mut running, mut stopped, mut succeeded) = (0, 0, 0, 0);
    for s in sims {
        match &s.phase {
            Phase::Running { .. } => running += 1,
            Phase::Done { term: Some(t) } => {
                stopped += 1;
                if t.code == 0 {
                    succeeded += 1;
                }
            }
            // A deleted container that never ran counts as stopped, not succeeded.
            Phase::Done { term: None } if terminal => stopped += 1,
            Phase::BackOff { .. } => stopped += 1,
            _ if s.last.is_some() => stopped += 1,
            _ => waiting += 1,
        }
    }
    if waiting > 0 || sims.is_empty() {
        return "Pending";
    }
    if running > 0 {
        return "Running";
    }
    if terminal {
        return if stopped == succeeded {
            "Succeeded"
        } else {
            "Failed"
        };
    }
    match restart_policy(pod) {
        "Never" if stopped == succeeded => "Succeeded",
        "Never" => "Failed",
        "OnFailure" if stopped == succeeded => "Succeeded",
        "OnFailure" => "Running",
        // Always: all are restarting.
        _ => "Running",
    }
}

pub(super) fn pod_status(
    st: &mut PodSim,
    input: &Input<'_>,
    containers: &[Container],
    deleting: bool,
    now: i64,
) -> (PodStatus, bool) {
    let pod = input.pod;
    let origin = st.origin.unwrap_or(now);
    let sims: Vec<&ContainerSim> = containers
        .iter()
        .filter_map(|c| st.containers.get(&c.name))
        .collect();
    let terminal = deleting && sims.iter().all(|s| matches!(s.phase, Phase::Done { .. }));
    let phase = phase(pod, &sims, terminal);
    let unready: Vec<&str> = containers
        .iter()
        .filter(|c| st.containers.get(&c.name).is_none_or(|s| !s.ready()))
        .map(|c| c.name.as_str())
        .collect();
    let all_ready = unready.is_empty() && !containers.is_empty();
    // When readiness last flipped: the latest change of any container.
    let ready_time = sims
        .iter()
        .map(|s| s.ready_change.1)
        .max()
        .unwrap_or(origin);
    let mut cond = |type_: &'static str, status: bool, at: i64| {
        let entry = st.conditions.entry(type_).or_insert((status, at));
        if entry.0 != status {
            *entry = (status, at);
        }
        entry.1
    };
    let sandbox = now >= origin + CREATE_MS;
    let t_sandbox = cond("PodReadyToStartContainers", sandbox, origin + CREATE_MS);
    let t_init = cond("Initialized", true, origin);
    let t_ready = cond("Ready", all_ready, ready_time);
    let t_cready = cond("ContainersReady", all_ready, ready_time);
    let (reason, message) = if all_ready {
        (None, None)
    } else if phase == "Succeeded" {
        (Some("PodCompleted".to_string()), None)
    } else {
        (
            Some("ContainersNotReady".to_string()),
            Some(format!(
                "containers with unready status: [{}]",
                unready.join(" ")
            )),
        )
    };
    let mk =
        |type_: &str, status: bool, at: i64, reason: Option<String>, message: Option<String>| {
            PodCondition {
                type_: type_.to_string(),
                status: if status { "True" } else { "False" }.to_string(),
                last_transition_time: Some(time(at)),
                reason,
                message,
                ..Default::default()
            }
        };
    let old = pod.status.clone().unwrap_or_default();
    let scheduled = old
        .conditions
        .iter()
        .flatten()
        .find(|c| c.type_ == "PodScheduled")
        .cloned()
        .unwrap_or_else(|| mk("PodScheduled", true, origin, None, None));
    let conditions = vec![
        mk("PodReadyToStartContainers", sandbox, t_sandbox, None, None),
        mk("Initialized", true, t_init, None, None),
        mk("Ready", all_ready, t_ready, reason.clone(), message.clone()),
        mk("ContainersReady", all_ready, t_cready, reason, message),
        scheduled,
    ];
    let statuses = containers
        .iter()
        .filter_map(|c| Some(container_status(pod, c, st.containers.get(&c.name)?)))
        .collect();
    let status = PodStatus {
        phase: Some(phase.to_string()),
        conditions: Some(conditions),
        host_ip: Some(input.host_ip.to_string()),
        host_ips: Some(vec![k8s_openapi::api::core::v1::HostIP {
            ip: input.host_ip.to_string(),
        }]),
        pod_ip: Some(input.pod_ip.to_string()),
        pod_ips: Some(vec![PodIP {
            ip: input.pod_ip.to_string(),
        }]),
        start_time: Some(time(origin)),
        container_statuses: Some(statuses),
        qos_class: old.qos_class,
        ..Default::default()
    };
    (status, terminal)
}
