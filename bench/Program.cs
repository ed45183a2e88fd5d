// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Globalization;
using System.Text.Json;
using HyperDbgRemote.Bench;

// usage: HyperDbgRemote.Bench [group|prefix] [--out FILE]   (prints one flat JSON object: metric -> number)
// Groups: vmx (the VMX driver and the bare engine it is compared with), wire (transports and the link),
// script (the script engine), e2e (the debugger end to end), linux (booting Debian's kernel; QEMU as the anchor),
// seabios_linux (the same kernel through SeaBIOS and fw_cfg, as QEMU's -bios -kernel; QEMU as the anchor),
// faults (the serial link through the fault relay, reconnection, idle connections to the agent: real processes);
// anything else selects the metrics starting with it.
string prefix = args.FirstOrDefault(a => !a.StartsWith("--", StringComparison.Ordinal)) ?? string.Empty;
int outIndex = Array.IndexOf(args, "--out");
string output = outIndex >= 0 && outIndex + 1 < args.Length ? args[outIndex + 1] : Path.Combine(BenchPaths.Root(), "bench", "results", "latest.json");

if (args.Contains("--agent-rss-probe"))
{
    Console.WriteLine(EndToEndBenchmarks.RssProbe().ToString(CultureInfo.InvariantCulture));
    return 0;
}

if (args.Contains("--relay-probe"))
{
    // The paced line alone, with plain FileStreams at both ends: what the serial benchmarks' wire can carry.
    Console.WriteLine($"relay: {PacedSerialLine.Probe(11_520, 40 * 1024):F0} B/s");
    return 0;
}

int pacedLine = Array.IndexOf(args, "--paced-line");
if (pacedLine >= 0 && pacedLine + 1 < args.Length)
{
    // A child process: the paced serial line of the serial benchmarks (see PacedSerialLineProcess).
    return PacedSerialLineProcess.Serve(int.Parse(args[pacedLine + 1], CultureInfo.InvariantCulture));
}

if (args.Contains("--rss-probe"))
{
    Console.WriteLine(VmxBenchmarks.RssProbe().ToString(CultureInfo.InvariantCulture));
    return 0;
}

var groups = new Dictionary<string, IEnumerable<(string Name, Func<double> Run)>>(StringComparer.Ordinal)
{
    ["vmx"] = VmxBenchmarks.All(),
    ["wire"] = WireBenchmarks.All(),
    ["script"] = ScriptBenchmarks.Engine(),
    ["e2e"] = EndToEndBenchmarks.All().Concat(ScriptBenchmarks.EndToEnd()),
    ["step"] = StepBenchmarks.All(),
    ["linux"] = LinuxBenchmarks.All(),
    ["seabios_linux"] = LinuxBenchmarks.SeaBiosLinux(),
    ["faults"] = LinkFaultBenchmarks.All(),
};
IEnumerable<(string Name, Func<double> Run)> selected = groups.TryGetValue(prefix, out IEnumerable<(string Name, Func<double> Run)>? group)
    ? group
    : groups.Values.SelectMany(g => g).Where(b => b.Name.StartsWith(prefix, StringComparison.Ordinal));

var metrics = new SortedDictionary<string, double>(StringComparer.Ordinal);
foreach ((string name, Func<double> run) in selected)
{
    Console.Error.WriteLine($"bench: {name} ...");
    metrics[name] = Math.Round(run(), 3);
    Console.Error.WriteLine($"bench: {name} = {metrics[name].ToString(CultureInfo.InvariantCulture)}");
}

if (metrics.Count == 0)
{
    Console.Error.WriteLine($"bench: '{prefix}' is no group (vmx, wire, script, e2e, step, linux, seabios_linux, faults) and no metric starts with it");
    return 2;
}

VmxBenchmarks.AddRatios(metrics);
string json = JsonSerializer.Serialize(metrics, new JsonSerializerOptions { WriteIndented = true });
Console.WriteLine(json);
Directory.CreateDirectory(Path.GetDirectoryName(output)!);
File.WriteAllText(output, json + Environment.NewLine);
Console.Error.WriteLine($"bench: written to {output}");
return 0;
