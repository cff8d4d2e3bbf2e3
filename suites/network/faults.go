package network

import "github.com/virtcert/virtcert/suites"

// The guest fault each network check exists to catch, and its proof.
func init() {
	const whole = "TestChecksOnTranscripts"
	suites.DescribeFaults(map[string]suites.Fault{
		"network.link": {
			What: "a NIC without link or address (link down, no carrier, no DHCP lease), or one NIC holding two leases",
			Made: "a second virtio NIC whose virtual cable is unplugged on the host (<link state='down'/>, virsh domif-setlink)",
			Proofs: []suites.Proof{suites.LabProof("TestFault", "link-down"), suites.LabProof("TestE2EFaults", "link-down"),
				suites.TranscriptProof(whole, "kvm/network/faulty-linkdown.txt"), suites.TranscriptProof(whole, "kvm/network/faulty-two-addresses.txt")},
		},
		"network.mtu": {
			What:   "the NIC's MTU is not what the network is configured for",
			Made:   "tiny guest whose NIC MTU was lowered to 1400 in the guest (ip link set eth0 mtu 1400)",
			Proofs: []suites.Proof{suites.LabProof("TestE2EFaults", "mtu-lowered"), suites.TranscriptProof(whole, "kvm/network/faulty-mtu.txt")},
		},
		"network.nic-driver": {
			What: "the NIC is emulated (e1000, Hyper-V legacy tulip) instead of paravirtual",
			Made: "tiny guest with nic_model e1000 (libvirt <model type='e1000'/>)",
			Proofs: []suites.Proof{suites.LabProof("TestFault", "emulated-nic"), suites.LabProof("TestE2EFaults", "emulated-nic"),
				suites.TranscriptProof(whole, "kvm/network/faulty-emulated-nic.txt"), suites.TranscriptProof(whole, "hyperv-gen1/network/faulty-legacy-nic.txt")},
		},
		"network.offloads": {
			What:   "checksum, scatter-gather or TSO offloads are off on the paravirtual NIC",
			Made:   "a KVM guest with tx checksumming and TSO off (ethtool -K tx off tso off)",
			Proofs: []suites.Proof{suites.TranscriptProof(whole, "kvm/network/faulty-offloads.txt")},
		},
		"network.reachability": {
			What:   "the guest loses packets to, or cannot reach, its gateway, the controller or its peer",
			Made:   "a KVM guest with 30% packet loss to the gateway",
			Proofs: []suites.Proof{suites.TranscriptProof(whole, "kvm/network/faulty-loss.txt")},
		},
		"network.throughput.controller": {
			What:   "TCP throughput between guest and controller far below the platform's floor, or streams that move nothing",
			Made:   "vcprobe TCP results of a slow path with idle streams, and of a refused connection",
			Proofs: []suites.Proof{suites.TranscriptProof("TestJudgeThroughput", "kvm/network/vcprobe-tcp-slow.json"), suites.TranscriptProof("TestJudgeThroughput", "kvm/network/vcprobe-tcp-refused.json")},
		},
		"network.throughput.peer": {
			What:   "TCP throughput from guest to peer guest far below the platform's floor, or no route to the peer",
			Made:   "vcprobe TCP results of a slow path with idle streams, and of a refused connection (judged as the peer flow is)",
			Proofs: []suites.Proof{suites.TranscriptProof("TestJudgeThroughput", "kvm/network/vcprobe-tcp-slow.json"), suites.TranscriptProof("TestJudgeThroughput", "kvm/network/vcprobe-tcp-refused.json")},
		},
		"network.iface-reload": {
			What:   "the NIC does not regain its address after an ip link down/up cycle",
			Made:   "a KVM guest whose address never came back after the third cycle",
			Proofs: []suites.Proof{suites.TranscriptProof(whole, "kvm/network/faulty-reload.txt")},
		},
		"network.link-flap": {
			What:   "the guest's operstate does not follow the host's link down/up (no carrier reporting), or stays down after the link is restored",
			Made:   "flap logs of a KVM guest whose operstate ignored the host's link down, and of one stuck down",
			Proofs: []suites.Proof{suites.TranscriptProof("TestJudgeLinkFlap", "kvm/network/faulty-flap-ignored.txt"), suites.TranscriptProof("TestJudgeLinkFlap", "kvm/network/faulty-flap-stuck.txt")},
		},
		"network.nic-hotplug": {
			What:   "a hot-added NIC never appears in the guest or gets no DHCP address, or its removal leaves a call trace",
			Made:   "tiny guest with virtcert.fault=noload=virtio_net: the hot-added virtio NIC has no driver and never appears; a dmesg with a call trace on removal",
			Proofs: []suites.Proof{suites.LabProof("TestFault", "emulated-nic"), suites.TranscriptProof("TestJudgeNICHotplug", "kvm/network/dmesg-hotplug-trace.txt")},
		},
	})
}
