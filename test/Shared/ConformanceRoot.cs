// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.Tests.Shared;

/// <summary>
/// Where HyperDbg's conformance suites are: the folder named by <c>HYPERDBG_CONFORMANCE_DIR</c> (set by
/// <c>./build.sh conformance DIR</c>), else <c>../shared/conformance</c> next to the folder holding HyperDbgRemote.sln.
/// The data is read in place, never copied into the project.
/// </summary>
internal static class ConformanceRoot
{
    public const string EnvironmentVariable = "HYPERDBG_CONFORMANCE_DIR";
    public const string NotFound = "skipped: conformance data not found";

    /// <summary>The path of <paramref name="relative"/> under the conformance root, or null when it does not exist.</summary>
    public static string? Find(string relative)
    {
        string? root = Environment.GetEnvironmentVariable(EnvironmentVariable) is { Length: > 0 } fromEnvironment
            ? fromEnvironment
            : DefaultRoot();
        if (root is null)
        {
            return null;
        }

        string path = Path.GetFullPath(Path.Combine(root, relative));
        return File.Exists(path) || Directory.Exists(path) ? path : null;
    }

    /// <summary>The folder holding HyperDbgRemote.sln, found upwards from the test assembly.</summary>
    public static string? SolutionDirectory()
    {
        for (DirectoryInfo? dir = new(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "HyperDbgRemote.sln")))
            {
                return dir.FullName;
            }
        }

        return null;
    }

    private static string? DefaultRoot() =>
        SolutionDirectory() is string solution ? Path.Combine(solution, "..", "shared", "conformance") : null;
}
