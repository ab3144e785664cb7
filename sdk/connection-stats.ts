/**
 * Connection quality from `RTCPeerConnection.getStats()`: round-trip time, bitrates, packet
 * loss and the selected candidate pair's type, each sample computed against the previous one.
 */

export type CandidateType = 'host' | 'srflx' | 'prflx' | 'relay' | 'unknown';
export type Quality = 'good' | 'fair' | 'poor';

export interface CallStats {
  rttMs: number | null;
  inboundKbps: number;
  outboundKbps: number;
  /** Fraction of inbound packets lost since the previous sample, 0–1. */
  packetLoss: number;
  candidateType: CandidateType;
  quality: Quality;
}

interface Totals {
  at: number;
  bytesIn: number;
  bytesOut: number;
  packetsIn: number;
  lostIn: number;
}

export class StatsSampler {
  private previous: Totals | undefined;

  constructor(private readonly pc: RTCPeerConnection) {}

  async sample(): Promise<CallStats> {
    const report = await this.pc.getStats();
    const totals: Totals = { at: performance.now(), bytesIn: 0, bytesOut: 0, packetsIn: 0, lostIn: 0 };
    let pair: RTCIceCandidatePairStats | undefined;
    let selectedPairId: string | undefined;
    const byId = new Map<string, RTCStats & Record<string, unknown>>();
    report.forEach((stat: RTCStats & Record<string, unknown>) => {
      byId.set(stat.id, stat);
      if (stat.type === 'inbound-rtp') {
        totals.bytesIn += num(stat['bytesReceived']);
        totals.packetsIn += num(stat['packetsReceived']);
        totals.lostIn += Math.max(0, num(stat['packetsLost']));
      } else if (stat.type === 'outbound-rtp') {
        totals.bytesOut += num(stat['bytesSent']);
      } else if (stat.type === 'transport' && typeof stat['selectedCandidatePairId'] === 'string') {
        selectedPairId = stat['selectedCandidatePairId'];
      } else if (stat.type === 'candidate-pair' && stat['nominated'] === true && stat['state'] === 'succeeded') {
        pair ??= stat as unknown as RTCIceCandidatePairStats;
      }
    });
    if (selectedPairId !== undefined) pair = (byId.get(selectedPairId) as unknown as RTCIceCandidatePairStats | undefined) ?? pair;

    const rtt = pair?.currentRoundTripTime;
    const rttMs = typeof rtt === 'number' ? Math.round(rtt * 1000) : null;
    const local = pair ? byId.get(pair.localCandidateId) : undefined;
    const remote = pair ? byId.get(pair.remoteCandidateId) : undefined;
    const candidateType = pairType(local?.['candidateType'], remote?.['candidateType']);

    const previous = this.previous;
    this.previous = totals;
    const seconds = previous ? (totals.at - previous.at) / 1000 : 0;
    const inboundKbps = previous && seconds > 0 ? kbps(totals.bytesIn - previous.bytesIn, seconds) : 0;
    const outboundKbps = previous && seconds > 0 ? kbps(totals.bytesOut - previous.bytesOut, seconds) : 0;
    const received = previous ? totals.packetsIn - previous.packetsIn : totals.packetsIn;
    const lost = previous ? totals.lostIn - previous.lostIn : totals.lostIn;
    const packetLoss = received + lost > 0 ? Math.max(0, lost) / (received + lost) : 0;
    // No media arriving is never "good", whatever the round trip says.
    const noMedia = previous !== undefined && totals.bytesIn === previous.bytesIn;
    return { rttMs, inboundKbps, outboundKbps, packetLoss, candidateType, quality: noMedia ? 'poor' : qualityOf(rttMs, packetLoss) };
  }
}

/** Good below 200 ms and 2 % loss, poor from 400 ms or 8 % loss, fair between. */
export function qualityOf(rttMs: number | null, packetLoss: number): Quality {
  if ((rttMs ?? 0) >= 400 || packetLoss >= 0.08) return 'poor';
  if ((rttMs ?? 0) >= 200 || packetLoss >= 0.02) return 'fair';
  return 'good';
}

/** A relay on either end makes the path a relayed one; otherwise the "farthest" type wins. */
function pairType(local: unknown, remote: unknown): CandidateType {
  const types = [local, remote];
  for (const type of ['relay', 'srflx', 'prflx', 'host'] as const) if (types.includes(type)) return type;
  return 'unknown';
}

function num(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) ? value : 0;
}

function kbps(bytes: number, seconds: number): number {
  return Math.max(0, Math.round((bytes * 8) / 1000 / seconds));
}
