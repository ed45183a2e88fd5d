// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Text.RegularExpressions;
using HyperDbgRemote.Tests.Shared;

namespace HyperDbgRemote.Commands.Tests;

/// <summary>
/// AGENTS.md's description of the Commands project against the code: its subfolders are the project's folders, and the
/// commands it names under Debugging/, Extension/ and Meta/ are exactly the registry's commands living there.
/// </summary>
public sealed partial class AgentsDescriptionTests
{
    private static readonly string[] s_commandFolders = ["Debugging", "Extension", "Meta"];

    private static (string Root, Dictionary<string, string> Folders) Described()
    {
        string root = ConformanceRoot.SolutionDirectory() ?? throw new AssertionException("HyperDbgRemote.sln not found");
        string[] lines = File.ReadAllLines(Path.Combine(root, "AGENTS.md"));
        int start = Array.FindIndex(lines, l => l.StartsWith("Commands/ ", StringComparison.Ordinal));
        Assert.That(start, Is.GreaterThanOrEqualTo(0), "AGENTS.md describes Commands/");
        var folders = new Dictionary<string, string>(StringComparer.Ordinal);
        string? current = null;
        for (int i = start + 1; i < lines.Length && lines[i].StartsWith(' '); i++)
        {
            Match m = Subfolder().Match(lines[i]);
            if (m.Success)
            {
                current = m.Groups[1].Value;
                folders[current] = m.Groups[2].Value;
            }
            else if (current is not null)
            {
                folders[current] += " " + lines[i].Trim();
            }
        }

        return (root, folders);
    }

    [Test]
    public void AgentsMd_CommandsSubfolders_AreTheProjectsFolders()
    {
        (string root, Dictionary<string, string> folders) = Described();
        var actual = Directory.GetDirectories(Path.Combine(root, "Commands")).Select(Path.GetFileName).Where(n => n is not ("bin" or "obj")).ToHashSet();
        Assert.That(folders.Keys, Is.EquivalentTo(actual));
    }

    [TestCaseSource(nameof(s_commandFolders))]
    public void AgentsMd_CommandsListedUnderAFolder_AreTheCommandsThere(string folder)
    {
        (_, Dictionary<string, string> folders) = Described();
        Assert.That(folders.ContainsKey(folder), Is.True, $"AGENTS.md lists Commands/{folder}/");
        var listed = Regex.Replace(folders[folder], @"\([^)]*\)", string.Empty)
            .Split([',', '/', ' '], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToHashSet(StringComparer.Ordinal);
        var here = new CommandRegistry().All.Where(c => c.GetType().Namespace == $"HyperDbgRemote.Commands.{folder}").ToList();
        var registryNames = new CommandRegistry().All.SelectMany(c => c.Names).ToHashSet(StringComparer.Ordinal);

        Assert.Multiple(() =>
        {
            foreach (IDebuggerCommand c in here)
            {
                Assert.That(c.Names.Any(listed.Contains), Is.True, $"{c.GetType().Name} ({string.Join(", ", c.Names)}) is in Commands/{folder} but AGENTS.md does not name it");
            }

            foreach (string name in listed)
            {
                Assert.That(here.Any(c => c.Names.Contains(name)), Is.True, $"AGENTS.md names '{name}' under Commands/{folder}, but it is {(registryNames.Contains(name) ? "elsewhere" : "no command")}");
            }
        });
    }

    [GeneratedRegex(@"^  (\w+)/\s+(.*)$")]
    private static partial Regex Subfolder();
}
