// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.
namespace HyperDbgRemote.Protocol.Tests.Support;

/// <summary>Finds the repository root by walking up from the test binaries to the folder holding HyperDbgRemote.sln.</summary>
internal static class RepositoryPaths
{
    public static string? FindRoot()
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
}
