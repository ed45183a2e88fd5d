// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Globalization;
using System.Text.Json;
using HyperDbgRemote.Bench;

// usage: HyperDbgRemote.Bench [prefix] [--out FILE]   (prints one flat JSON object: metric -> number)
string prefix = args.FirstOrDefault(a => !a.StartsWith("--", StringComparison.Ordinal)) ?? string.Empty;
int outIndex = Array.IndexOf(args, "--out");
string output = outIndex >= 0 && outIndex + 1 < args.Length ? args[outIndex + 1] : Path.Combine(BenchPaths.Root(), "bench", "results", "latest.json");

if (args.Contains("--agent-rss-probe"))
{
    Console.WriteLine(EndToEndBenchmarks.RssProbe().ToString(CultureInfo.InvariantCulture));
    return 0;
}

if (args.Contains("--rss-probe"))
{
    Console.WriteLine(VmxBenchmarks.RssProbe().ToString(CultureInfo.InvariantCulture));
    return 0;
}

var metrics = new SortedDictionary<string, double>(StringComparer.Ordinal);
foreach ((string name, Func<double> run) in VmxBenchmarks.All().Concat(EndToEndBenchmarks.All()).Concat(WireBenchmarks.All()).Concat(ScriptBenchmarks.All()))
{
    if (!name.StartsWith(prefix, StringComparison.Ordinal))
    {
        continue;
    }

    Console.Error.WriteLine($"bench: {name} ...");
    metrics[name] = Math.Round(run(), 3);
    Console.Error.WriteLine($"bench: {name} = {metrics[name].ToString(CultureInfo.InvariantCulture)}");
}

if (metrics.Count == 0)
{
    Console.Error.WriteLine($"bench: no benchmark starts with '{prefix}'");
    return 2;
}

VmxBenchmarks.AddRatios(metrics);
string json = JsonSerializer.Serialize(metrics, new JsonSerializerOptions { WriteIndented = true });
Console.WriteLine(json);
Directory.CreateDirectory(Path.GetDirectoryName(output)!);
File.WriteAllText(output, json + Environment.NewLine);
Console.Error.WriteLine($"bench: written to {output}");
return 0;
